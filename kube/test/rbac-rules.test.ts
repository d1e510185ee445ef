/** RBAC's rule algebra: matching, subjects, coverage for escalation checks, CompactString, aggregation. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { effectiveClusterRoles } from '../src/apiserver/auth/rbac/authorizer.js';
import {
  compactString,
  covers,
  escalationMessage,
  ruleAllows,
  subjectMatches,
  type PolicyRule,
} from '../src/apiserver/auth/rbac/rules.js';
import type { AuthorizationAttributes } from '../src/apiserver/auth/authorizer.js';

const user = { name: 'system:serviceaccount:ns1:robot', groups: ['devs', 'system:authenticated'] };
const req = (o: Partial<AuthorizationAttributes>): AuthorizationAttributes => ({
  user,
  verb: 'get',
  resourceRequest: true,
  apiGroup: '',
  resource: 'pods',
  namespace: 'ns1',
  ...o,
});

describe('RBAC rules', () => {
  it('matches verbs, groups, resources, subresources, names and URLs', () => {
    const cases: Array<[PolicyRule, Partial<AuthorizationAttributes>, boolean]> = [
      [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }, {}, true],
      [{ verbs: ['list'], apiGroups: [''], resources: ['pods'] }, {}, false],
      [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }, { verb: 'delete', apiGroup: 'apps' }, true],
      [{ verbs: ['get'], apiGroups: ['apps'], resources: ['pods'] }, {}, false],
      [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }, { subresource: 'log' }, false],
      [{ verbs: ['get'], apiGroups: [''], resources: ['pods/log'] }, { subresource: 'log' }, true],
      [{ verbs: ['get'], apiGroups: [''], resources: ['*/status'] }, { subresource: 'status' }, true],
      [{ verbs: ['get'], apiGroups: [''], resources: ['pods'], resourceNames: ['a'] }, { name: 'a' }, true],
      [{ verbs: ['get'], apiGroups: [''], resources: ['pods'], resourceNames: ['a'] }, { name: 'b' }, false],
      [
        { verbs: ['list'], apiGroups: [''], resources: ['pods'], resourceNames: ['a'] },
        { verb: 'list' },
        false,
      ],
      [
        { verbs: ['get'], nonResourceURLs: ['/healthz/*'] },
        { resourceRequest: false, path: '/healthz/etcd' },
        true,
      ],
      [
        { verbs: ['get'], nonResourceURLs: ['/version'] },
        { resourceRequest: false, path: '/versions' },
        false,
      ],
      [{ verbs: ['get'], nonResourceURLs: ['/api'] }, { resourceRequest: true, path: '/api' }, false],
    ];
    for (const [rule, attrs, want] of cases)
      assert.equal(ruleAllows(req(attrs), rule), want, `${JSON.stringify(rule)} ${JSON.stringify(attrs)}`);
  });

  it('matches users, groups and service accounts (namespace from the binding when left out)', () => {
    assert.ok(subjectMatches({ kind: 'Group', name: 'devs' }, user, ''));
    assert.ok(subjectMatches({ kind: 'ServiceAccount', name: 'robot' }, user, 'ns1'));
    assert.ok(!subjectMatches({ kind: 'ServiceAccount', name: 'robot' }, user, 'ns2'));
    assert.ok(!subjectMatches({ kind: 'ServiceAccount', name: 'robot' }, user, ''));
    assert.ok(subjectMatches({ kind: 'ServiceAccount', name: 'robot', namespace: 'ns1' }, user, ''));
    assert.ok(!subjectMatches({ kind: 'User', name: 'robot' }, user, ''));
  });

  it('finds what an owner does not hold, compacted and worded as ConfirmNoEscalation', () => {
    const owner: PolicyRule[] = [
      { verbs: ['get', 'list'], apiGroups: [''], resources: ['pods', 'services'] },
      { verbs: ['*'], apiGroups: ['apps'], resources: ['*'] },
      { verbs: ['get'], apiGroups: [''], resources: ['secrets'], resourceNames: ['one'] },
    ];
    assert.ok(covers(owner, [{ verbs: ['get'], apiGroups: ['', 'apps'], resources: ['pods'] }]).ok);
    assert.ok(
      covers(owner, [{ verbs: ['get'], apiGroups: [''], resources: ['secrets'], resourceNames: ['one'] }]).ok,
    );
    const c = covers(owner, [
      { verbs: ['get', 'delete', 'watch'], apiGroups: [''], resources: ['pods'] },
      { verbs: ['get'], apiGroups: [''], resources: ['secrets'] },
      { verbs: ['get'], nonResourceURLs: ['/metrics'] },
    ]);
    assert.equal(c.ok, false);
    assert.equal(
      escalationMessage({ name: 'bob', groups: ['a', 'b'] }, c.missing),
      'user "bob" (groups=["a" "b"]) is attempting to grant RBAC permissions not currently held:\n' +
        '{APIGroups:[""], Resources:["pods"], Verbs:["delete" "watch"]}\n' +
        '{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}\n' +
        '{NonResourceURLs:["/metrics"], Verbs:["get"]}',
    );
    assert.equal(
      compactString({ verbs: ['get'], apiGroups: [''], resources: ['x'], resourceNames: ['n'] }),
      '{APIGroups:[""], Resources:["x"], ResourceNames:["n"], Verbs:["get"]}',
    );
  });

  it('aggregates cluster roles transitively by label, without cycles', () => {
    const role = (name: string, labels: Record<string, string>, rules: PolicyRule[], from?: string) => ({
      metadata: { name, labels },
      rules,
      ...(from ? { aggregationRule: { clusterRoleSelectors: [{ matchLabels: { [from]: 'true' } }] } } : {}),
    });
    const r = effectiveClusterRoles([
      role('admin', {}, [], 'to-admin'),
      role('edit', { 'to-admin': 'true' }, [], 'to-edit'),
      role('piece', { 'to-edit': 'true' }, [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }]),
      role('loop', { 'to-loop': 'true', 'to-admin': 'true' }, [], 'to-loop'),
    ]);
    assert.deepEqual(r.get('admin'), [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }]);
    assert.deepEqual(r.get('edit'), [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }]);
    assert.deepEqual(r.get('loop'), []);
  });
});
