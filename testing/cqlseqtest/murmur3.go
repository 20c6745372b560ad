package cqlseqtest

import (
	"encoding/binary"
	"math"
	"math/bits"
)

// KeyWithToken returns a 16-byte blob partition key whose Murmur3 token is
// tok: a row with that key lies exactly on a ring token, or on any other
// token a test needs. Different n give different keys with the same token
// (partitions whose tokens collide). The token math.MaxInt64 is reached
// both from the hash 2^63-1 (n even) and from the hash -2^63, which
// Murmur3Partitioner maps to 2^63-1 (n odd). math.MinInt64 is no token.
//
// Murmur3 on one 16-byte block is a bijection step by step, so it runs
// backwards: the key's two 8-byte words are computed from the hash.
// Cassandra's token() of the key is the check (the cluster tests assert
// it for every key they insert).
func KeyWithToken(tok int64, n uint64) []byte {
	h := uint64(tok)
	if tok == math.MaxInt64 && n%2 == 1 {
		h = 1 << 63
	}
	// The final step: h1 = fmix(x1) + fmix(x2), h2 is free; take
	// fmix(x2) = n.
	x2 := unfmix(n)
	x1 := unfmix(h - n)
	// Before that: h1 += h2; h2 += h1.
	a2 := x2 - x1
	a1 := x1 - a2
	// h ^= len.
	a1 ^= 16
	a2 ^= 16
	// The block: h1 = rotl(k1', 27)*5 + c (h1, h2 start at 0), then
	// h2 = (rotl(k2', 31) + h1)*5 + c'.
	k1 := bits.RotateLeft64((a1-0x52dce729)*inv5, -27)
	k2 := bits.RotateLeft64((a2-0x38495ab5)*inv5-a1, -31)
	// k1' = rotl(k1*c1, 31)*c2; k2' = rotl(k2*c2, 33)*c1.
	k1 = bits.RotateLeft64(k1*invC2, -31) * invC1
	k2 = bits.RotateLeft64(k2*invC1, -33) * invC2
	key := make([]byte, 16)
	binary.LittleEndian.PutUint64(key, k1)
	binary.LittleEndian.PutUint64(key[8:], k2)
	return key
}

const (
	c1 = 0x87c37b91114253d5
	c2 = 0x4cf5ad432745937f
	m1 = 0xff51afd7ed558ccd
	m2 = 0xc4ceb9fe1a85ec53
)

var (
	inv5  = inverse(5)
	invC1 = inverse(c1)
	invC2 = inverse(c2)
	invM1 = inverse(m1)
	invM2 = inverse(m2)
)

// inverse returns x's multiplicative inverse modulo 2^64 (x odd), by
// Newton's iteration: each step doubles the correct low bits.
func inverse(x uint64) uint64 {
	y := x // correct to 3 bits for odd x
	for range 5 {
		y *= 2 - x*y
	}
	return y
}

// unfmix inverts Murmur3's fmix64: k ^= k>>33 undoes itself (33 ≥ 32
// bits), and the multiplications by odd constants have inverses.
func unfmix(k uint64) uint64 {
	k ^= k >> 33
	k *= invM2
	k ^= k >> 33
	k *= invM1
	k ^= k >> 33
	return k
}
