//! PostgreSQL's binary NUMERIC format decoded into decimal text, so that exact amounts
//! never pass through a float on their way out.
//!
//! The wire form is: digit count (i16), weight (i16, the power of 10000 of the first digit),
//! sign (u16), display scale (u16), then the digits, each 0..=9999, in base 10000.

const POSITIVE: u16 = 0x0000;
const NEGATIVE: u16 = 0x4000;
const NAN: u16 = 0xC000;
const POS_INFINITY: u16 = 0xD000;
const NEG_INFINITY: u16 = 0xF000;

/// Decodes binary NUMERIC into its decimal text, exactly as PostgreSQL prints it.
pub(crate) fn decode(raw: &[u8]) -> Result<String, String> {
    let word = |i: usize| -> Result<[u8; 2], String> {
        raw.get(i..i + 2)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| "truncated NUMERIC value".to_owned())
    };
    let count = usize::try_from(i16::from_be_bytes(word(0)?)).map_err(|_| "bad NUMERIC")?;
    let weight = i64::from(i16::from_be_bytes(word(2)?));
    let sign = u16::from_be_bytes(word(4)?);
    let scale = usize::from(u16::from_be_bytes(word(6)?));
    match sign {
        NAN => return Ok("NaN".to_owned()),
        POS_INFINITY => return Ok("Infinity".to_owned()),
        NEG_INFINITY => return Ok("-Infinity".to_owned()),
        POSITIVE | NEGATIVE => {}
        other => return Err(format!("unknown NUMERIC sign {other:#x}")),
    }
    let mut digits = Vec::with_capacity(count);
    for k in 0..count {
        digits.push(i16::from_be_bytes(word(8 + 2 * k)?));
    }
    let group = |index: i64| -> i16 {
        usize::try_from(index)
            .ok()
            .and_then(|i| digits.get(i).copied())
            .unwrap_or(0)
    };
    let mut out = String::new();
    if sign == NEGATIVE {
        out.push('-');
    }
    if weight < 0 {
        out.push('0');
    } else {
        out.push_str(&group(0).to_string());
        for i in 1..=weight {
            out.push_str(&format!("{:04}", group(i)));
        }
    }
    if scale > 0 {
        out.push('.');
        let mut frac = String::with_capacity(scale + 4);
        let mut index = weight + 1;
        while frac.len() < scale {
            frac.push_str(&format!("{:04}", group(index)));
            index += 1;
        }
        frac.truncate(scale);
        out.push_str(&frac);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(count: i16, weight: i16, sign: u16, scale: u16, digits: &[i16]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&count.to_be_bytes());
        out.extend_from_slice(&weight.to_be_bytes());
        out.extend_from_slice(&sign.to_be_bytes());
        out.extend_from_slice(&scale.to_be_bytes());
        for d in digits {
            out.extend_from_slice(&d.to_be_bytes());
        }
        out
    }

    #[test]
    fn decodes_what_postgres_sends() {
        for (raw, want) in [
            (wire(0, 0, POSITIVE, 0, &[]), "0"),
            (wire(0, 0, POSITIVE, 2, &[]), "0.00"),
            (wire(2, 0, POSITIVE, 2, &[12, 5000]), "12.50"),
            (wire(1, 1, POSITIVE, 0, &[1]), "10000"),
            (wire(1, -1, NEGATIVE, 1, &[5000]), "-0.5"),
            (wire(1, -2, POSITIVE, 5, &[1000]), "0.00001"),
            (wire(1, -1, POSITIVE, 4, &[1]), "0.0001"),
            (wire(3, 2, POSITIVE, 0, &[1, 2, 3]), "100020003"),
            (wire(1, 1, POSITIVE, 3, &[1]), "10000.000"),
            (wire(0, 0, NAN, 0, &[]), "NaN"),
            (wire(0, 0, POS_INFINITY, 0, &[]), "Infinity"),
            (wire(0, 0, NEG_INFINITY, 0, &[]), "-Infinity"),
        ] {
            assert_eq!(decode(&raw).unwrap(), want);
        }
    }

    #[test]
    fn truncated_or_odd_input_is_an_error() {
        assert!(decode(&[0, 1]).is_err());
        assert!(decode(&wire(2, 0, POSITIVE, 0, &[1])).is_err());
        assert!(decode(&wire(0, 0, 0x1234, 0, &[])).is_err());
    }
}
