// Where Flightdeck keeps its files outside Electron. Electron itself uses app.getPath('userData'),
// which resolves to the same folders for productName "Flightdeck".
import os from 'node:os';
import path from 'node:path';

export function defaultDataDir(): string {
  const fromEnv = process.env.FLIGHTDECK_DATA_DIR;
  if (fromEnv) return path.resolve(fromEnv);
  const home = os.homedir();
  switch (process.platform) {
    case 'darwin':
      return path.join(home, 'Library', 'Application Support', 'Flightdeck');
    case 'win32':
      return path.join(process.env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), 'Flightdeck');
    default:
      return path.join(process.env.XDG_CONFIG_HOME ?? path.join(home, '.config'), 'Flightdeck');
  }
}

export function defaultKnownHostsFile(): string {
  return path.join(os.homedir(), '.ssh', 'known_hosts');
}
