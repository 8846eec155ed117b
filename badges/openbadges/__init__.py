"""Self-issued Open Badges 3.0: documents, signing, status lists, verification and public views."""
