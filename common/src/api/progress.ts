/** One line of a pull/push/load/build stream (newline-delimited JSON, as dockerd). */
export interface ProgressDetail {
  current?: number;
  total?: number;
}

export interface ProgressMessage {
  id?: string;
  status?: string;
  progress?: string;
  progressDetail?: ProgressDetail;
  stream?: string;
  aux?: Record<string, unknown>;
  error?: string;
  errorDetail?: { message: string; code?: number };
}
