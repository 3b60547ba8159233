// An app's status when its manifest is gone from this host's picture: removed,
// or placed on other hosts (docs/fleet.md); the next pass removes it either way.
import test from 'ava';
import { appStatus } from '../../src/status/app-status.js';

const applied = { name: 'web', manifest: undefined, appliedManifest: '/srv/apps.d/web.yaml', units: new Map(), details: new Map() };

test('an applied app whose manifest is gone, or now placed on other hosts, says which, and that the next pass removes it', (t) => {
  t.is(appStatus(applied).error, 'manifest removed; the next pass removes the app');
  t.is(
    appStatus({ ...applied, placedElsewhere: 'placed on h3; this host is h1' }).error,
    'not placed on this host any more (placed on h3; this host is h1); the next pass removes the app',
  );
});
