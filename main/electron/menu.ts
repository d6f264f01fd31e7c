// The application menu: the platform's standard roles (so copy/paste, zoom, full screen and window
// management behave as users expect), plus a way to reach the data folder where the journal,
// profiles and reports live.
import { app, Menu, shell, type MenuItemConstructorOptions } from 'electron';

export function installAppMenu(dataDir: string): void {
  const isMac = process.platform === 'darwin';
  const template: MenuItemConstructorOptions[] = [
    ...(isMac ? [{ role: 'appMenu' as const }] : []),
    { role: 'fileMenu' },
    { role: 'editMenu' },
    { role: 'viewMenu' },
    { role: 'windowMenu' },
    {
      role: 'help',
      submenu: [
        {
          label: 'Open Data Folder',
          click: () => {
            void shell.openPath(dataDir);
          },
        },
        { type: 'separator' },
        { label: `Flightdeck ${app.getVersion()}`, enabled: false },
      ],
    },
  ];
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}
