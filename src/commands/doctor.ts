import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { inspectCodeCache } from '../code-cache.js';
import { loadConfig } from '../config/load.js';
import { formatReport, runDoctor } from '../doctor.js';
import { ExitCode } from '../exit-codes.js';
import { selectLedBackend } from '../led/select.js';
import { serviceDirectory } from '../service-view.js';
import { childEnv, loadSdNotify } from '../systemd/sd-notify.js';
import { CHECKOUT_OPTION, CONFIG_OPTION, flag, stringValue, type Command } from './command.js';
import { output } from './output.js';
import { chooseConfig } from './where.js';

export const doctor: Command = {
  name: 'doctor',
  summary: 'check GPIO, permissions, the log directory, systemd and Node, each with its fix',
  options: [CONFIG_OPTION, CHECKOUT_OPTION],
  description: [
    'One line per thing the daemon needs, with ✓ or ✗, and for each ✗ the command or edit that fixes it: Node.js, the start-up code cache, the config, the log directory, the systemd binding, the GPIO chips and the pin, python3 (the character-device LED), the gpio group, and the LED the daemon would pick.',
    "Where the service is installed it checks the service's config, log directory and user.",
  ],
  exitCodes: [[1, 'a required check failed']],
  async run(invocation, { env, app, time }) {
    const choice = chooseConfig({ flag: stringValue(invocation, 'config'), env, app, checkout: flag(invocation, 'checkout') });
    const silent = pino({ level: 'silent' });
    const dist = join(app.root, 'dist');
    const report = formatReport(
      runDoctor({
        nodeVersion: process.version,
        codeCache: () => inspectCodeCache(dist, env, undefined, app.codeCacheDir),
        remakeCodeCache: `${writable(app.codeCacheDir ?? dist) ? '' : 'sudo '}${process.execPath} ${join(app.root, 'scripts', 'build', 'code-cache.mjs')} ${dist}`,
        configFile: choice.file,
        loadConfig: () => loadConfig({ file: choice.file, env: choice.env }),
        loadSdNotify,
        sdNotifyFix: app.bindingFix,
        chooseLed: (led) => selectLedBackend(led, { logger: silent, childEnv: childEnv(env), time }),
        ...(choice.service === undefined ? {} : { service: { user: choice.service.user ?? 'root', workingDirectory: serviceDirectory(choice.service) } }),
      }),
    );
    const code = output(`${choice.service === undefined ? '' : `# ${choice.why}\n`}${report.text}`);
    return code !== ExitCode.ok ? code : report.ok ? ExitCode.ok : ExitCode.failure;
  },
};

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
