import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vite';

// base './': the same build loads from file:// in Electron and from `berth serve` in a browser.
export default defineConfig({
  base: './',
  plugins: [vue()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // No inline scripts or eval: the CSP allows only 'self'.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 400,
  },
  server: { host: '127.0.0.1' },
});
