import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// base './' keeps every asset URL relative, so the same build loads from Electron's
// app://flightdeck/ protocol and from the browser host's http://127.0.0.1:PORT/.
export default defineConfig({
  root: import.meta.dirname,
  base: './',
  plugins: [react()],
  build: {
    outDir: '../dist/renderer',
    emptyOutDir: true,
    // The CSP forbids inline scripts and styles; keep every asset a file of its own.
    assetsInlineLimit: 0,
    target: 'es2022',
    sourcemap: true,
  },
});
