/** Engine version reported by /version and /info. */
export const VERSION = '0.1.0';
