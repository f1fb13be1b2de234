"""String hash functions used by the hashing and lookup layers, bit-exact with TensorFlow's.

Keras hashes with TensorFlow's string ops: ``to_hash_bucket_fast`` is FarmHash's 64-bit
``Fingerprint64`` (farmhash-na ``Hash64``), ``to_hash_bucket_strong`` is SipHash-2-4 keyed with two
64-bit words, and feature crossing chains fingerprints with ``FingerprintCat64``. All three are
written here from their published algorithm descriptions, on numpy ``uint64`` arrays.

The functions are vectorized across strings of equal byte length: for a fixed length every branch
and every byte offset of the algorithms is the same, so one group of strings runs as whole-array
arithmetic (``uint64`` arithmetic wraps modulo 2**64, exactly as the C reference does).
"""

import numpy as np

_U64 = np.uint64
_K0 = _U64(0xC3A5C85C97CB3127)
_K1 = _U64(0xB492B66FBE98F273)
_K2 = _U64(0x9AE16A3B2F90404F)
_CAT_MUL = _U64(0xC6A4A7935BD1E995)


def _u(x):
    return _U64(x)


def _rotr(v, shift):
    return (v >> _u(shift)) | (v << _u(64 - shift))


def _rotl(v, shift):
    return (v << _u(shift)) | (v >> _u(64 - shift))


def _shift_mix(v):
    return v ^ (v >> _u(47))


def _fetch64(data, offset):
    """Little-endian 64-bit words at byte ``offset`` of each row of the ``(n, length)`` uint8 array."""
    return np.ascontiguousarray(data[:, offset : offset + 8]).view("<u8")[:, 0].astype(_U64)


def _fetch32(data, offset):
    return np.ascontiguousarray(data[:, offset : offset + 4]).view("<u4")[:, 0].astype(_U64)


def _hash_len16(u, v, mul):
    a = (u ^ v) * mul
    a ^= a >> _u(47)
    b = (v ^ a) * mul
    b ^= b >> _u(47)
    return b * mul


def _len_0_to_16(data, length, n):
    if length >= 8:
        mul = _K2 + _u(length * 2)
        a = _fetch64(data, 0) + _K2
        b = _fetch64(data, length - 8)
        c = _rotr(b, 37) * mul + a
        d = (_rotr(a, 25) + b) * mul
        return _hash_len16(c, d, mul)
    if length >= 4:
        mul = _K2 + _u(length * 2)
        a = _fetch32(data, 0)
        return _hash_len16(_u(length) + (a << _u(3)), _fetch32(data, length - 4), mul)
    if length > 0:
        a = data[:, 0].astype(_U64)
        b = data[:, length >> 1].astype(_U64)
        c = data[:, length - 1].astype(_U64)
        y = (a + (b << _u(8))) & _u(0xFFFFFFFF)
        z = (_u(length) + (c << _u(2))) & _u(0xFFFFFFFF)
        return _shift_mix(y * _K2 ^ z * _K0) * _K2
    return np.full(n, _K2, dtype=_U64)


def _len_17_to_32(data, length):
    mul = _K2 + _u(length * 2)
    a = _fetch64(data, 0) * _K1
    b = _fetch64(data, 8)
    c = _fetch64(data, length - 8) * mul
    d = _fetch64(data, length - 16) * _K2
    return _hash_len16(_rotr(a + b, 43) + _rotr(c, 30) + d, a + _rotr(b + _K2, 18) + c, mul)


def _len_33_to_64(data, length):
    mul = _K2 + _u(length * 2)
    a = _fetch64(data, 0) * _K2
    b = _fetch64(data, 8)
    c = _fetch64(data, length - 8) * mul
    d = _fetch64(data, length - 16) * _K2
    y = _rotr(a + b, 43) + _rotr(c, 30) + d
    z = _hash_len16(y, a + _rotr(b + _K2, 18) + c, mul)
    e = _fetch64(data, 16) * mul
    f = _fetch64(data, 24)
    g = (y + _fetch64(data, length - 32)) * mul
    h = (z + _fetch64(data, length - 24)) * mul
    return _hash_len16(_rotr(e + f, 43) + _rotr(g, 30) + h, e + _rotr(f + a, 18) + g, mul)


def _weak_hash_len32_with_seeds(data, offset, a, b):
    w = _fetch64(data, offset)
    x = _fetch64(data, offset + 8)
    y = _fetch64(data, offset + 16)
    z = _fetch64(data, offset + 24)
    a = a + w
    b = _rotr(b + a + z, 21)
    c = a
    a = a + x + y
    b = b + _rotr(a, 44)
    return a + z, b + c


def _len_over_64(data, length, n):
    seed = _u(81)
    zeros = np.zeros(n, dtype=_U64)
    x = np.full(n, seed, dtype=_U64)
    y = np.full(n, seed * _K1 + _u(113), dtype=_U64)
    z = _shift_mix(y * _K2 + _u(113)) * _K2
    v0, v1 = zeros, zeros
    w0, w1 = zeros, zeros
    x = x * _K2 + _fetch64(data, 0)
    end = ((length - 1) // 64) * 64
    last64 = end + ((length - 1) & 63) - 63
    for s in range(0, end, 64):
        x = _rotr(x + y + v0 + _fetch64(data, s + 8), 37) * _K1
        y = _rotr(y + v1 + _fetch64(data, s + 48), 42) * _K1
        x ^= w1
        y = y + v0 + _fetch64(data, s + 40)
        z = _rotr(z + w0, 33) * _K1
        v0, v1 = _weak_hash_len32_with_seeds(data, s, v1 * _K1, x + w0)
        w0, w1 = _weak_hash_len32_with_seeds(data, s + 32, z + w1, y + _fetch64(data, s + 16))
        x, z = z, x
    mul = _K1 + ((z & _u(0xFF)) << _u(1))
    s = last64
    w0 = w0 + _u((length - 1) & 63)
    v0 = v0 + w0
    w0 = w0 + v0
    x = _rotr(x + y + v0 + _fetch64(data, s + 8), 37) * mul
    y = _rotr(y + v1 + _fetch64(data, s + 48), 42) * mul
    x ^= w1 * _u(9)
    y = y + v0 * _u(9) + _fetch64(data, s + 40)
    z = _rotr(z + w0, 33) * mul
    v0, v1 = _weak_hash_len32_with_seeds(data, s, v1 * mul, x + w0)
    w0, w1 = _weak_hash_len32_with_seeds(data, s + 32, z + w1, y + _fetch64(data, s + 16))
    x, z = z, x
    return _hash_len16(
        _hash_len16(v0, w0, mul) + _shift_mix(y) * _K0 + z, _hash_len16(v1, w1, mul) + x, mul
    )


def _fingerprint64_group(data, length):
    n = data.shape[0]
    if length <= 16:
        return _len_0_to_16(data, length, n)
    if length <= 32:
        return _len_17_to_32(data, length)
    if length <= 64:
        return _len_33_to_64(data, length)
    return _len_over_64(data, length, n)


def _sip_round(v0, v1, v2, v3):
    v0 = v0 + v1
    v1 = _rotl(v1, 13) ^ v0
    v0 = _rotl(v0, 32)
    v2 = v2 + v3
    v3 = _rotl(v3, 16) ^ v2
    v0 = v0 + v3
    v3 = _rotl(v3, 21) ^ v0
    v2 = v2 + v1
    v1 = _rotl(v1, 17) ^ v2
    v2 = _rotl(v2, 32)
    return v0, v1, v2, v3


def _siphash_group(data, length, key):
    n = data.shape[0]
    k0, k1 = _u(key[0]), _u(key[1])
    v0 = np.full(n, k0 ^ _u(0x736F6D6570736575), dtype=_U64)
    v1 = np.full(n, k1 ^ _u(0x646F72616E646F6D), dtype=_U64)
    v2 = np.full(n, k0 ^ _u(0x6C7967656E657261), dtype=_U64)
    v3 = np.full(n, k1 ^ _u(0x7465646279746573), dtype=_U64)
    full = length - length % 8
    for s in range(0, full, 8):
        m = _fetch64(data, s)
        v3 ^= m
        for _ in range(2):
            v0, v1, v2, v3 = _sip_round(v0, v1, v2, v3)
        v0 ^= m
    # The last block holds the remaining bytes (little-endian) and the length in its top byte.
    tail = np.zeros((n, 8), dtype=np.uint8)
    tail[:, : length - full] = data[:, full:length]
    b = tail.view("<u8")[:, 0].astype(_U64) | (_u(length & 0xFF) << _u(56))
    v3 ^= b
    for _ in range(2):
        v0, v1, v2, v3 = _sip_round(v0, v1, v2, v3)
    v0 ^= b
    v2 ^= _u(0xFF)
    for _ in range(4):
        v0, v1, v2, v3 = _sip_round(v0, v1, v2, v3)
    return v0 ^ v1 ^ v2 ^ v3


def _by_length(byte_strings, group_fn):
    """Run ``group_fn(uint8 array (n, length), length)`` per byte length; results in input order."""
    out = np.empty(len(byte_strings), dtype=_U64)
    groups = {}
    for i, s in enumerate(byte_strings):
        groups.setdefault(len(s), []).append(i)
    with np.errstate(over="ignore"):
        for length, idx in groups.items():
            if length:
                data = np.frombuffer(b"".join(byte_strings[i] for i in idx), dtype=np.uint8)
                data = data.reshape(len(idx), length)
            else:
                data = np.zeros((len(idx), 0), dtype=np.uint8)
            out[np.asarray(idx)] = group_fn(data, length)
    return out


def fingerprint64(byte_strings):
    """FarmHash ``Fingerprint64`` of each ``bytes`` object, as a ``uint64`` array."""
    return _by_length(list(byte_strings), _fingerprint64_group)


def siphash64(byte_strings, key):
    """SipHash-2-4 of each ``bytes`` object keyed by two 64-bit integers, as a ``uint64`` array."""
    key = [int(k) & 0xFFFFFFFFFFFFFFFF for k in key]
    return _by_length(list(byte_strings), lambda data, length: _siphash_group(data, length, key))


def fingerprint_cat64(fp1, fp2):
    """Combine two fingerprint arrays into one (TensorFlow's ``FingerprintCat64``)."""
    fp1 = np.asarray(fp1, dtype=_U64)
    fp2 = np.asarray(fp2, dtype=_U64)
    with np.errstate(over="ignore"):
        result = fp1 ^ _CAT_MUL
        result ^= _shift_mix(fp2 * _CAT_MUL) * _CAT_MUL
        result = result * _CAT_MUL
        result = _shift_mix(result) * _CAT_MUL
        return _shift_mix(result)


def to_hash_strings(values):
    """Flatten an array of strings/bytes/numbers into the byte strings TensorFlow would hash.

    Strings are UTF-8 encoded; floats are first truncated to int64 and integers are written in
    decimal; booleans become ``b"true"``/``b"false"``.
    """
    values = np.asarray(values)
    flat = values.reshape(-1)
    kind = values.dtype.kind
    if kind == "f":
        return [str(int(v)).encode() for v in flat.astype(np.int64)]
    if kind in "iu":
        return [str(int(v)).encode() for v in flat]
    if kind == "b":
        return [b"true" if v else b"false" for v in flat]
    return [v if isinstance(v, bytes) else str(v).encode("utf-8") for v in flat.tolist()]


def hash_to_buckets(values, num_buckets, salt=None):
    """Hash bucket of each element of ``values`` (same shape), as TensorFlow's string ops compute it.

    Args:
        values: Array-like of strings, bytes or numbers.
        num_buckets: Positive number of buckets.
        salt: ``None`` for FarmHash Fingerprint64, or a pair of integers keying SipHash-2-4.

    Returns:
        An int64 numpy array of the shape of ``values``.
    """
    values = np.asarray(values)
    strings = to_hash_strings(values)
    hashed = fingerprint64(strings) if salt is None else siphash64(strings, salt)
    return (hashed % _u(num_buckets)).astype(np.int64).reshape(values.shape)
