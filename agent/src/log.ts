/** berthd's structured logger: the one shared by every Node process (common/src/log.ts). */
export * from '@berth/common/log';
