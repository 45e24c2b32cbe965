import winston from 'winston';

export type Logger = winston.Logger;

const stampTime = winston.format((info) => {
  info.time = new Date().toISOString();
  return info;
});

/** A JSON-lines logger: level, time, message and whatever fields the caller adds. */
export function createLogger(options: { level: string; service: string; silent?: boolean }): Logger {
  return winston.createLogger({
    level: options.level,
    silent: options.silent ?? false,
    defaultMeta: { service: options.service },
    format: winston.format.combine(stampTime(), winston.format.errors({ stack: true }), winston.format.json()),
    transports: [new winston.transports.Console({ stderrLevels: [] })],
  });
}
