// The Sigstore JavaScript libraries (@sigstore/bundle, @sigstore/verify, @sigstore/sign) as an
// independent implementation for ferry's bundle tests. Installed by `cargo xtask test`.
//
// usage:
//   sigstore_js.cjs verify BUNDLE.json KEY.pub DIGEST
//       verifies the bundle offline with the public key (no log, no timestamp), then checks the
//       in-toto statement names DIGEST with cosign's sign predicate; prints "ok" or fails.
//   sigstore_js.cjs sign DIR REPOSITORY DIGEST
//       makes a P-256 key pair (DIR/js.pub), signs cosign's image statement for DIGEST with
//       @sigstore/sign's DSSE bundle builder, and writes the bundle to DIR/js.bundle.json.
'use strict';
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const { bundleFromJSON, bundleToJSON } = require('@sigstore/bundle');
const { Verifier, toSignedEntity, toTrustMaterial } = require('@sigstore/verify');
const { DSSEBundleBuilder } = require('@sigstore/sign');

const SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1';
const IN_TOTO = 'application/vnd.in-toto+json';
const EMPTY_ROOT = { certificateAuthorities: [], timestampAuthorities: [], tlogs: [], ctlogs: [] };

// The hint Sigstore clients use for a public key: base64(sha256(DER SubjectPublicKeyInfo)).
function hintOf(key) {
  const der = key.export({ type: 'spki', format: 'der' });
  return crypto.createHash('sha256').update(der).digest('base64');
}

function verify(bundlePath, pubPath, digest) {
  const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(bundlePath, 'utf8')));
  const pub = crypto.createPublicKey(fs.readFileSync(pubPath, 'utf8'));
  const keys = { [hintOf(pub)]: { rawBytes: pub.export({ type: 'spki', format: 'der' }) } };
  const verifier = new Verifier(toTrustMaterial(EMPTY_ROOT, keys), {
    tlogThreshold: 0,
    ctlogThreshold: 0,
    timestampThreshold: 0,
  });
  verifier.verify(toSignedEntity(bundle));
  // @sigstore/verify checks the signature over the envelope; what the statement says is the
  // caller's to check, as cosign does for an image.
  const env = bundle.content.dsseEnvelope;
  if (env.payloadType !== IN_TOTO) throw new Error(`payloadType ${env.payloadType}`);
  const statement = JSON.parse(Buffer.from(env.payload).toString('utf8'));
  if (statement.predicateType !== SIGN_PREDICATE) throw new Error(`predicate ${statement.predicateType}`);
  const [alg, hex] = digest.split(':');
  if (!statement.subject.some((s) => s.digest && s.digest[alg] === hex)) {
    throw new Error(`no subject with digest ${digest}`);
  }
  console.log('ok');
}

async function sign(dir, repository, digest) {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  fs.writeFileSync(path.join(dir, 'js.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
  const hint = hintOf(publicKey);
  const signer = {
    sign: async (data) => ({
      signature: crypto.sign('sha256', data, privateKey),
      key: { $case: 'publicKey', publicKey: publicKey.export({ type: 'spki', format: 'pem' }), hint },
    }),
  };
  const [alg, hex] = digest.split(':');
  const statement = {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: repository, digest: { [alg]: hex } }],
    predicateType: SIGN_PREDICATE,
    predicate: {},
  };
  const builder = new DSSEBundleBuilder({ signer, witnesses: [] });
  const bundle = await builder.create({ data: Buffer.from(JSON.stringify(statement)), type: IN_TOTO });
  fs.writeFileSync(path.join(dir, 'js.bundle.json'), JSON.stringify(bundleToJSON(bundle)));
  console.log('ok');
}

const [cmd, ...args] = process.argv.slice(2);
Promise.resolve()
  .then(() => {
    if (cmd === 'verify' && args.length === 3) return verify(...args);
    if (cmd === 'sign' && args.length === 3) return sign(...args);
    throw new Error('usage: sigstore_js.cjs verify BUNDLE PUB DIGEST | sign DIR REPOSITORY DIGEST');
  })
  .catch((e) => {
    console.error(`sigstore_js: ${e && e.message ? e.message : e}`);
    process.exit(1);
  });
