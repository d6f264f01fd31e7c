import { useEffect, useState } from 'react';
import { useLinkStore } from '../store/link-store';

function Countdown({ ms }: { ms: number }) {
  const [start] = useState(Date.now());
  const [now, setNow] = useState(start);
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(t);
  }, []);
  return <>{Math.max(0, Math.ceil((ms - (now - start)) / 1000))} s</>;
}

export function CoreLinkBanner() {
  const link = useLinkStore((s) => s.link);
  const everOpen = useLinkStore((s) => s.everOpen);
  if (link.state === 'open') return null;
  // The first connect normally takes milliseconds; only a failure of it is worth a banner.
  if (link.state === 'connecting' && (!everOpen || link.attempt === 0)) return null;
  return (
    <div className="core-link-banner" role="alert" data-testid="core-link-banner">
      <strong>Disconnected from Flightdeck core.</strong>{' '}
      {link.state === 'down' ? (
        <>
          {link.reason} Reconnecting in <Countdown key={`${link.attempt}`} ms={link.retryInMs} /> (attempt {link.attempt}).
        </>
      ) : (
        <>Reconnecting…</>
      )}{' '}
      What you see may be out of date.
    </div>
  );
}
