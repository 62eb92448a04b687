"""KSeF (Krajowy System e-Faktur): FA(3) invoices sent through API 2.0 (see ``services``)."""
