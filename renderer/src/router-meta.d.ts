// The route table's `meta` (router.ts): the window title.
import 'vue-router';

declare module 'vue-router' {
  interface RouteMeta {
    title?: string;
  }
}
