import { useNoticeStore } from '../store/notice-store';
import { ErrorCallout } from './ErrorCallout';

export function ActionNotice() {
  const error = useNoticeStore((s) => s.error);
  const dismiss = useNoticeStore((s) => s.dismiss);
  if (!error) return null;
  return (
    <div className="action-notice">
      <ErrorCallout error={error}>
        <button type="button" className="button small ghost" onClick={dismiss}>
          Dismiss
        </button>
      </ErrorCallout>
    </div>
  );
}
