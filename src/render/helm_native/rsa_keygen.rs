//! RSA key generation for Sprig's `genPrivateKey "rsa"` (4096 bits) and the `genCA` /
//! `genSelfSignedCert` / `genSignedCert` keys (2048 bits).
//!
//! The `rsa` crate's own generator tests candidates with num-bigint-dig, whose Montgomery
//! multiplication made key generation most of a render of a chart that makes certificates
//! (several times Go's time). Here the primes come from crypto-primes (fixed-size
//! crypto-bigint arithmetic, a small-prime sieve, then Miller-Rabin base 2, a strong Lucas
//! test and one random Miller-Rabin round), and the two primes are searched on two threads,
//! since each search is independent. The key is then assembled by the `rsa` crate, which
//! computes the private exponent and CRT values and checks the pair.

use crypto_bigint::{Encoding, Uint, U1024, U2048};
use crypto_primes::hazmat::{random_odd_uint, Sieve};
use crypto_primes::is_prime_with_rng;
use rsa::{BigUint, RsaPrivateKey};

/// Go's (and Sprig's) public exponent.
const E: u32 = 65537;

/// A new RSA key whose modulus has exactly `bits` bits (2048 or 4096).
pub fn generate(bits: usize) -> Result<RsaPrivateKey, String> {
    match bits {
        2048 => generate_with::<{ U1024::LIMBS }>(bits),
        4096 => generate_with::<{ U2048::LIMBS }>(bits),
        // Not reached from a template: Sprig's sizes are fixed.
        _ => RsaPrivateKey::new(&mut rand::thread_rng(), bits).map_err(|e| e.to_string()),
    }
}

fn generate_with<const L: usize>(bits: usize) -> Result<RsaPrivateKey, String>
where
    Uint<L>: Encoding,
{
    let half = bits / 2;
    // Bounded only as a guard: a try fails when p == q or gcd(e, λ(n)) != 1, both rare.
    for _ in 0..64 {
        let (p, q) = std::thread::scope(|s| {
            let other = s.spawn(|| prime::<L>(half));
            let p = prime::<L>(half);
            (p, other.join())
        });
        let q = q.map_err(|_| "RSA prime search failed".to_string())?;
        if let Ok(key) = RsaPrivateKey::from_p_q(p, q, BigUint::from(E)) {
            return Ok(key);
        }
    }
    Err("no RSA key found in 64 tries".into())
}

/// A random prime of exactly `bits` bits whose two top bits are set, so the product of two
/// such primes has exactly twice as many bits (Go's `rand.Prime` sets them for that reason).
fn prime<const L: usize>(bits: usize) -> BigUint
where
    Uint<L>: Encoding,
{
    let mut rng = rand::thread_rng();
    loop {
        let start: Uint<L> = random_odd_uint(&mut rng, bits) | (Uint::<L>::ONE << (bits - 2));
        if let Some(p) = Sieve::new(&start, bits, false).find(|n| is_prime_with_rng(&mut rng, n)) {
            return BigUint::from_bytes_be(p.to_be_bytes().as_ref());
        }
    }
}

#[cfg(test)]
mod tests {
    use rsa::traits::{PrivateKeyParts, PublicKeyParts};

    #[test]
    fn keys_have_the_size_asked_and_are_consistent() {
        for bits in [2048, 4096] {
            let k = super::generate(bits).unwrap();
            assert_eq!(k.n().bits(), bits);
            assert_eq!(k.e(), &rsa::BigUint::from(65537u32));
            let [p, q] = k.primes() else {
                panic!("two primes")
            };
            assert_eq!(p.bits(), bits / 2);
            assert_eq!(q.bits(), bits / 2);
            assert_eq!(&(p * q), k.n());
            k.validate().unwrap();
        }
    }
}
