import { useEffect, useRef, type ReactNode } from 'react';

interface Props {
  title: string;
  tone?: 'normal' | 'danger';
  onClose(): void;
  children: ReactNode;
  footer: ReactNode;
  testId?: string;
}

/** The native <dialog>: modal focus, Escape to cancel and an inert background come for free. */
export function ModalDialog({ title, tone = 'normal', onClose, children, footer, testId }: Props) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);
  return (
    <dialog
      ref={ref}
      className={`modal ${tone}`}
      aria-labelledby="modal-title"
      data-testid={testId}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      <h2 id="modal-title">{title}</h2>
      <div className="modal-body">{children}</div>
      <footer className="modal-footer">{footer}</footer>
    </dialog>
  );
}
