/**
 * How many failed jobs an event's queue keeps, and for how long (seconds): the newest 1,000, for a
 * week at most. Enough to look into a fault; bounded, so that a fault failing every job cannot fill
 * Redis. Every job is added with it (completed jobs are removed at once).
 */
export const KEEP_FAILED_JOBS = { count: 1_000, age: 7 * 86_400 };
