"""Opens a cosign `ENCRYPTED SIGSTORE PRIVATE KEY` with only Python's standard library
(hashlib.scrypt, and XSalsa20-Poly1305 written out below from the NaCl specification), then
checks with OpenSSL (the `cryptography` module) that the PKCS#8 inside is the key in the .pub.

usage: open_cosign_key.py KEY PUB PASSWORD      prints "ok" on success
"""
import base64, hashlib, json, sys

M32 = 0xFFFFFFFF


def rotl(v, n):
    return ((v << n) | (v >> (32 - n))) & M32


def rounds(x):
    x = list(x)

    def qr(a, b, c, d):
        x[b] ^= rotl((x[a] + x[d]) & M32, 7)
        x[c] ^= rotl((x[b] + x[a]) & M32, 9)
        x[d] ^= rotl((x[c] + x[b]) & M32, 13)
        x[a] ^= rotl((x[d] + x[c]) & M32, 18)

    for _ in range(10):
        qr(0, 4, 8, 12); qr(5, 9, 13, 1); qr(10, 14, 2, 6); qr(15, 3, 7, 11)
        qr(0, 1, 2, 3); qr(5, 6, 7, 4); qr(10, 11, 8, 9); qr(15, 12, 13, 14)
    return x


def words(b):
    return [int.from_bytes(b[i:i + 4], "little") for i in range(0, len(b), 4)]


C = words(b"expand 32-byte k")


def state(key, nonce16):
    k, n = words(key), words(nonce16)
    return [C[0], *k[:4], C[1], *n, C[2], *k[4:], C[3]]


def hsalsa20(key, nonce16):
    x = rounds(state(key, nonce16))
    return b"".join(x[i].to_bytes(4, "little") for i in (0, 5, 10, 15, 6, 7, 8, 9))


def salsa20_stream(key, nonce8, length):
    out = b""
    counter = 0
    while len(out) < length:
        s = state(key, nonce8 + counter.to_bytes(8, "little"))
        x = rounds(s)
        out += b"".join(((x[i] + s[i]) & M32).to_bytes(4, "little") for i in range(16))
        counter += 1
    return out[:length]


def poly1305(msg, key):
    r = int.from_bytes(key[:16], "little") & 0x0FFFFFFC0FFFFFFC0FFFFFFC0FFFFFFF
    s = int.from_bytes(key[16:], "little")
    p = (1 << 130) - 5
    acc = 0
    for i in range(0, len(msg), 16):
        acc = (acc + int.from_bytes(msg[i:i + 16] + b"\x01", "little")) * r % p
    return ((acc + s) % (1 << 128)).to_bytes(16, "little")


def secretbox_open(box, nonce, key):
    tag, ct = box[:16], box[16:]
    stream = salsa20_stream(hsalsa20(key, nonce[:16]), nonce[16:], 32 + len(ct))
    if poly1305(ct, stream[:32]) != tag:
        raise SystemExit("secretbox: bad tag")
    return bytes(a ^ b for a, b in zip(ct, stream[32:]))


def main():
    key_path, pub_path, password = sys.argv[1], sys.argv[2], sys.argv[3].encode()
    lines = open(key_path).read().strip().splitlines()
    assert lines[0] == "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----", lines[0]
    assert lines[-1] == "-----END ENCRYPTED SIGSTORE PRIVATE KEY-----", lines[-1]
    env = json.loads(base64.b64decode("".join(lines[1:-1])))
    assert env["kdf"]["name"] == "scrypt" and env["cipher"]["name"] == "nacl/secretbox", env
    prm = env["kdf"]["params"]
    k = hashlib.scrypt(password, salt=base64.b64decode(env["kdf"]["salt"]), n=prm["N"], r=prm["r"], p=prm["p"],
                       maxmem=256 * 1024 * 1024, dklen=32)
    der = secretbox_open(base64.b64decode(env["ciphertext"]), base64.b64decode(env["cipher"]["nonce"]), k)
    try:
        from cryptography.hazmat.primitives import serialization as s
    except ImportError:
        assert der[0] == 0x30, "PKCS#8 is a DER SEQUENCE"
        print("ok (no cryptography module: DER not parsed)")
        return
    priv = s.load_der_private_key(der, password=None)
    pub = s.load_pem_public_key(open(pub_path, "rb").read())
    assert priv.public_key().public_numbers() == pub.public_numbers(), "the .pub is not the key's"
    print("ok")


main()
