import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { parseEnvironment, readServiceView, serviceDirectory } from '../../src/service-view.js';
import { tempDir } from '../helpers/daemon.js';

function machine(files: Record<string, string>): string {
  const root = tempDir('asyncdemo-service-view-');
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

const UNIT = `[Unit]
Description=x
Environment=NOT_SERVICE=1

[Service]
ExecStart=/usr/bin/node /opt/asyncdemo/dist/main.js run --config /etc/asyncdemo/config.yaml
WorkingDirectory=/opt/asyncdemo
User=asyncdemo
# Environment=COMMENTED=1
Environment=LOGS_DIRECTORY=/var/log/asyncdemo
`;
const noSystemctl = (): undefined => undefined;

describe('the installed service, as print-config and doctor read it', () => {
  it('a machine without the unit is a checkout', () => {
    assert.equal(readServiceView({ root: machine({}), systemctlShow: noSystemctl }), undefined);
  });

  it('without systemctl: the unit file, then its drop-ins in name order, each variable with the file that set it', () => {
    const root = machine({
      '/etc/systemd/system/asyncdemo.service': UNIT,
      '/etc/systemd/system/asyncdemo.service.d/b-debug.conf': '[Service]\nEnvironment="ASYNCDEMO_DEBUG=yes" ASYNCDEMO_LOG_LEVEL=debug\n',
      '/etc/systemd/system/asyncdemo.service.d/a-level.conf': '[Service]\nEnvironment=ASYNCDEMO_LOG_LEVEL=warn\n',
      '/etc/systemd/system/asyncdemo.service.d/notes.txt': '[Service]\nEnvironment=IGNORED=1\n',
    });
    const view = readServiceView({ root, systemctlShow: noSystemctl });
    assert.ok(view !== undefined);
    assert.equal(view.configFile, '/etc/asyncdemo/config.yaml');
    assert.equal(serviceDirectory(view), '/opt/asyncdemo');
    assert.equal(view.user, 'asyncdemo');
    assert.equal(view.readFrom, 'the unit files');
    assert.deepEqual(view.env, { LOGS_DIRECTORY: '/var/log/asyncdemo', ASYNCDEMO_LOG_LEVEL: 'debug', ASYNCDEMO_DEBUG: 'yes' });
    assert.equal(view.origins.get('LOGS_DIRECTORY'), 'unit Environment= in /etc/systemd/system/asyncdemo.service');
    assert.equal(view.origins.get('ASYNCDEMO_LOG_LEVEL'), 'unit Environment= in /etc/systemd/system/asyncdemo.service.d/b-debug.conf');
  });

  it('an empty Environment= in a drop-in resets what came before, as systemd does', () => {
    const root = machine({
      '/etc/systemd/system/asyncdemo.service': UNIT,
      '/etc/systemd/system/asyncdemo.service.d/reset.conf': '[Service]\nEnvironment=\nEnvironment=ASYNCDEMO_DEBUG=no\n',
    });
    assert.deepEqual(readServiceView({ root, systemctlShow: noSystemctl })?.env, { ASYNCDEMO_DEBUG: 'no' });
  });

  it('when systemctl answers, its values count (what systemd loaded), and a file saying the same names the origin', () => {
    const root = machine({ '/etc/systemd/system/asyncdemo.service': UNIT });
    const view = readServiceView({ root, systemctlShow: () => 'LoadState=loaded\nEnvironment=LOGS_DIRECTORY=/var/log/asyncdemo "ASYNCDEMO_LOG_DIR=/srv/my logs"\n' });
    assert.equal(view?.readFrom, 'systemctl show');
    assert.deepEqual(view?.env, { LOGS_DIRECTORY: '/var/log/asyncdemo', ASYNCDEMO_LOG_DIR: '/srv/my logs' });
    assert.equal(view?.origins.get('LOGS_DIRECTORY'), 'unit Environment= in /etc/systemd/system/asyncdemo.service');
    assert.equal(view?.origins.get('ASYNCDEMO_LOG_DIR'), 'unit Environment=');
  });

  it('a config left by apt remove (no unit) is not a service', () => {
    const root = machine({ '/etc/asyncdemo/config.yaml': 'tasks: {}\n' });
    assert.equal(readServiceView({ root, systemctlShow: () => 'LoadState=not-found\nEnvironment=\n' }), undefined);
  });

  it('Environment= words: quotes, escapes, continuation of a later word winning', () => {
    assert.deepEqual(parseEnvironment(['A=1 "B=two words" \'C=x"y\' D=a\\ b', 'A=3 junk']), { A: '3', B: 'two words', C: 'x"y', D: 'a b' });
  });
});
