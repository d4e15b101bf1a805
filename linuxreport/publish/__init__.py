"""Publishing a built report: headers now; the bucket target follows."""
