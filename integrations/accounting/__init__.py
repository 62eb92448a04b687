"""Invoices and receipts handed to the merchant's accounting system or fiscal printer (Fakturownia, iFirma, POS drop)."""
