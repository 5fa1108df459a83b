"""A store's barcode rules as a setting: which scale-label layouts it uses and which prefixes its own codes carry.

The setting `barcodes` is plain JSON kept with the other settings, so Office can show it and the central store can
send it one day; this module turns it into the `BarcodeConfig` that `barcodes.parse` applies (and says plainly what
is wrong with one that cannot be used). Every key is optional:

    {"variable_measure": "default" | [ {layout fields}, ... ],   # scale labels (EAN-13 prefixes 20-29 by default)
     "upc_a_price_labels": true,                                # also read US UPC-A price labels (02 IIIII P VVVV C)
     "internal_prefixes": {prefix: kind, ...}}                  # the store's own codes (default: app.domain.prefixes)
"""

from __future__ import annotations

from typing import Any

from app.domain import barcodes

DEFAULT_RULES: dict[str, Any] = {"variable_measure": "default", "upc_a_price_labels": False}


def config_from_setting(rules: Any) -> barcodes.BarcodeConfig:
    """The BarcodeConfig the `barcodes` setting describes; ValueError says which part cannot be used."""
    if rules is None:
        return barcodes.BarcodeConfig()
    if not isinstance(rules, dict):
        raise ValueError('Barcode rules: expected an object such as {"upc_a_price_labels": true}.')
    layouts_in = rules.get("variable_measure", "default")
    try:
        if layouts_in in (None, "default"):
            layouts = barcodes.default_variable_measure_layouts()
        elif isinstance(layouts_in, list):
            layouts = [barcodes.VariableMeasureLayout(**dict(item)) for item in layouts_in]
        else:
            raise ValueError('"variable_measure" must be "default" or a list of layouts')
        if rules.get("upc_a_price_labels"):
            # UPC-A's "02" would be shadowed by nothing else: EAN-13 prefixes 20-29 start with "2", not "02".
            layouts.append(barcodes.UPC_A_PRICE_LAYOUT)
        prefixes = rules.get("internal_prefixes")
        if prefixes is None:
            return barcodes.BarcodeConfig(variable_measure=layouts)
        if not isinstance(prefixes, dict):
            raise ValueError('"internal_prefixes" must map a prefix to a kind, e.g. {"RC-": "receipt"}')
        return barcodes.BarcodeConfig(variable_measure=layouts, internal_prefixes=prefixes)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"Barcode rules: {exc}") from exc
