"""Training hours: accreditation of bases, courses, completions, roster imports, compliance."""
