"""The recognizers, one module per family: patterns (email, URL, IP, SSN, card, IBAN), phone, dates, address, names."""
