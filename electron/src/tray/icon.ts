/**
 * Which tray image to load. macOS wants a template image (black on transparency, the name ending in
 * "Template"): it tints it for light and dark menu bars. Windows and Linux panels do not tint, so they get the
 * coloured icon, which reads on light and dark panels alike.
 */
export interface TrayIcon {
  file: string;
  template: boolean;
}

export function trayIcon(platform: NodeJS.Platform): TrayIcon {
  return platform === 'darwin'
    ? { file: 'trayTemplate.png', template: true }
    : { file: 'tray.png', template: false };
}
