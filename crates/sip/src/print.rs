//! Printing numbers and addresses straight into a buffer. `core::fmt` costs a few hundred
//! instructions per call (and `Ipv4Addr`'s `Display` formats twice to support padding); every
//! response and forwarded request prints several of these, so the hot path avoids it.

use std::net::IpAddr;

/// Appends `n` in decimal.
pub(crate) fn push_decimal(out: &mut String, n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + u8::try_from(n % 10).unwrap_or(0);
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        out.push(char::from(d));
    }
}

/// Appends `n` in lowercase hexadecimal without leading zeros (`format!("{n:x}")`).
pub(crate) fn push_hex(out: &mut String, n: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let len = (64 - n.leading_zeros()).div_ceil(4).max(1);
    for shift in (0..len).rev() {
        let nibble = (n >> (shift * 4)) & 0xf;
        out.push(char::from(HEX[usize::try_from(nibble).unwrap_or(0)]));
    }
}

/// Appends an address as `Display` prints it (IPv6 without brackets).
pub(crate) fn push_ip(out: &mut String, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                push_decimal(out, u64::from(octet));
            }
        }
        IpAddr::V6(v6) => {
            use std::fmt::Write;
            // Infallible: writing to a String cannot fail.
            let _ = write!(out, "{v6}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_text_as_display() {
        for n in [0u64, 7, 10, 65535, u64::MAX] {
            let (mut d, mut h) = (String::new(), String::new());
            push_decimal(&mut d, n);
            push_hex(&mut h, n);
            assert_eq!(d, n.to_string());
            assert_eq!(h, format!("{n:x}"));
        }
        for ip in ["0.0.0.0", "192.0.2.255", "10.1.20.3", "2001:db8::1"] {
            let ip: IpAddr = ip.parse().unwrap();
            let mut s = String::new();
            push_ip(&mut s, ip);
            assert_eq!(s, ip.to_string());
        }
    }
}
