// Line colours of the health charts: distinct from each other and from the amber and red of the
// threshold bands, so a line is never mistaken for a limit.
export const lineColors = {
  total: '#4fb3ff',
  active: '#3fb950',
  idle: '#7d8b9c',
  idleInTransaction: '#d2a8ff',
  waiting: '#ff7b72',
  poolerWaiting: '#f778ba',
  lag: '#79c0ff',
  commits: '#3fb950',
  rollbacks: '#d2a8ff',
  deadlocks: '#ff7b72',
  cpu: '#4fb3ff',
  load: '#d2a8ff',
  memory: '#3fb950',
  disk: '#79c0ff',
} as const;
