//! Sizes as people read them on both apps' pages.

/// A size limit: whole MB where it is one, else KB.
pub fn size_limit(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MB", bytes / MIB)
    } else {
        format!("{} KB", bytes.div_ceil(1024))
    }
}

/// The size of a stored file: MB with one decimal from 1 MB, else KB.
pub fn human_size(bytes: u64) -> String {
    const KIB: u64 = 1024;
    if bytes >= KIB * KIB {
        format!(
            "{:.1} MB",
            f64::from(u32::try_from(bytes / KIB).unwrap_or(u32::MAX)) / 1024.0
        )
    } else {
        format!("{} KB", bytes.div_ceil(KIB))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(size_limit(20 * 1024 * 1024), "20 MB");
        assert_eq!(size_limit(1536 * 1024 + 1), "1537 KB");
        assert_eq!(human_size(1), "1 KB");
        assert_eq!(human_size(3 * 1024 * 1024 / 2), "1.5 MB");
    }
}
