// Log lines for a long-running controller. Under systemd (JOURNAL_STREAM set,
// or asked for) each line starts with its syslog priority, `<6>`, which the
// journal turns into the entry's priority; on a terminal, a timestamp and
// color instead.

export const ERR = 3;
export const WARNING = 4;
export const NOTICE = 5;
export const INFO = 6;
export const DEBUG = 7;

export type LogFormat = 'journal' | 'terminal' | 'plain';

export interface Logger {
  log(priority: number, message: string): void;
}

export function detectLogFormat(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): LogFormat {
  if (env['APPSD_LOG_FORMAT'] === 'journal' || env['APPSD_LOG_FORMAT'] === 'plain' || env['APPSD_LOG_FORMAT'] === 'terminal') {
    return env['APPSD_LOG_FORMAT'];
  }
  if (env['JOURNAL_STREAM']) return 'journal';
  return stream.isTTY ? 'terminal' : 'plain';
}

const COLORS: Record<number, string> = { [ERR]: '\x1b[31m', [WARNING]: '\x1b[33m', [DEBUG]: '\x1b[2m' };

export function createLogger(stream: NodeJS.WriteStream, format: LogFormat, verbose: boolean): Logger {
  return {
    log(priority, message) {
      if (priority >= DEBUG && !verbose) return;
      // A multi-line message is one entry per line, each with its priority.
      for (const line of message.split('\n')) {
        if (format === 'journal') stream.write(`<${priority}>${line}\n`);
        else if (format === 'terminal') {
          const time = new Date().toTimeString().slice(0, 8);
          const color = COLORS[priority];
          stream.write(color && !process.env['NO_COLOR'] ? `${time} ${color}${line}\x1b[0m\n` : `${time} ${line}\n`);
        } else stream.write(`${new Date().toISOString()} ${line}\n`);
      }
    },
  };
}
