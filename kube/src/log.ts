/** berth-kube's structured logger: JSON lines on stderr, the one every Berth process uses. */
export * from '@berth/common/log';
