import { createRouter, createWebHashHistory, type RouteRecordRaw } from 'vue-router';
import ContainersView from './views/ContainersView.vue';

// Hash history works the same from file:// (Electron) and from `berth serve`. Views other than the
// first are loaded on demand to keep the first paint small.
const routes: RouteRecordRaw[] = [
  { path: '/', redirect: '/containers' },
  { path: '/containers', component: ContainersView, meta: { title: 'Containers' } },
  {
    path: '/containers/:id/:tab?',
    component: () => import('./views/ContainerDetail.vue'),
    meta: { title: 'Container' },
  },
  { path: '/images', component: () => import('./views/ImagesView.vue'), meta: { title: 'Images' } },
  { path: '/images/:id', component: () => import('./views/ImageDetail.vue'), meta: { title: 'Image' } },
  { path: '/volumes', component: () => import('./views/VolumesView.vue'), meta: { title: 'Volumes' } },
  { path: '/volumes/:name', component: () => import('./views/VolumeDetail.vue'), meta: { title: 'Volume' } },
  { path: '/networks', component: () => import('./views/NetworksView.vue'), meta: { title: 'Networks' } },
  { path: '/cluster', redirect: '/cluster/pods' },
  {
    path: '/cluster/pods/:namespace/:name/:tab?',
    component: () => import('./views/PodDetail.vue'),
    meta: { title: 'Pod' },
  },
  {
    path: '/cluster/:section',
    component: () => import('./views/ClusterView.vue'),
    meta: { title: 'Cluster' },
  },
  { path: '/settings', component: () => import('./views/SettingsView.vue'), meta: { title: 'Settings' } },
  {
    path: '/troubleshoot',
    component: () => import('./views/TroubleshootView.vue'),
    meta: { title: 'Troubleshoot' },
  },
];

export const router = createRouter({ history: createWebHashHistory(), routes });
router.afterEach((to) => {
  document.title = `${to.meta.title ?? 'Berth'} · Berth`;
});
