import { readFileSync } from 'node:fs';

/**
 * Users and groups by name, from /etc/passwd and /etc/group: for messages
 * (`root:gpio`) and for the checks of who may use GPIO. A name not in the
 * files (LDAP, a removed user) reads as its number.
 */

function entries(file: '/etc/passwd' | '/etc/group'): string[][] {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .map((line) => line.split(':'));
  } catch {
    return [];
  }
}

export function userName(uid: number): string {
  return entries('/etc/passwd').find((fields) => fields[2] === String(uid))?.[0] ?? String(uid);
}

export function groupName(gid: number): string {
  return entries('/etc/group').find((fields) => fields[2] === String(gid))?.[0] ?? String(gid);
}

/** The uid of a user name, or undefined when there is none. */
export function uidOf(user: string): number | undefined {
  const uid = entries('/etc/passwd').find((fields) => fields[0] === user)?.[2];
  return uid === undefined ? undefined : Number(uid);
}

/** The members of a group (its supplementary members), or undefined when there is no such group. */
export function groupMembers(group: string): string[] | undefined {
  const fields = entries('/etc/group').find((f) => f[0] === group);
  return fields === undefined ? undefined : (fields[3] ?? '').split(',').filter(Boolean);
}
