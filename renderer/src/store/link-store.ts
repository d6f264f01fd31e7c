import { create } from 'zustand';
import type { CoreLinkState } from '../api/core-link';

interface LinkStore {
  link: CoreLinkState;
  /** False until the first successful connection, so the banner does not flash on startup. */
  everOpen: boolean;
  setLink(link: CoreLinkState): void;
}

export const useLinkStore = create<LinkStore>()((set) => ({
  link: { state: 'connecting', attempt: 0 },
  everOpen: false,
  setLink: (link) => set((s) => ({ link, everOpen: s.everOpen || link.state === 'open' })),
}));
