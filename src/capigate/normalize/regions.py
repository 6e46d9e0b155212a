"""Lookup tables for ``st`` and ``country``. Keys are lowercase letters only, accents folded
(``newyork``, ``quebec``), so that every spelling that squeezes to the same letters matches."""

from __future__ import annotations

US_STATES = {
    "alabama": "al", "alaska": "ak", "arizona": "az", "arkansas": "ar", "california": "ca",
    "colorado": "co", "connecticut": "ct", "delaware": "de", "florida": "fl", "georgia": "ga",
    "hawaii": "hi", "idaho": "id", "illinois": "il", "indiana": "in", "iowa": "ia",
    "kansas": "ks", "kentucky": "ky", "louisiana": "la", "maine": "me", "maryland": "md",
    "massachusetts": "ma", "michigan": "mi", "minnesota": "mn", "mississippi": "ms",
    "missouri": "mo", "montana": "mt", "nebraska": "ne", "nevada": "nv", "newhampshire": "nh",
    "newjersey": "nj", "newmexico": "nm", "newyork": "ny", "northcarolina": "nc",
    "northdakota": "nd", "ohio": "oh", "oklahoma": "ok", "oregon": "or", "pennsylvania": "pa",
    "rhodeisland": "ri", "southcarolina": "sc", "southdakota": "sd", "tennessee": "tn",
    "texas": "tx", "utah": "ut", "vermont": "vt", "virginia": "va", "washington": "wa",
    "westvirginia": "wv", "wisconsin": "wi", "wyoming": "wy",
    # The District of Columbia, however it is written.
    "districtofcolumbia": "dc", "washingtondc": "dc", "washingtondistrictofcolumbia": "dc",
    # Territories with USPS codes.
    "puertorico": "pr", "guam": "gu", "americansamoa": "as", "northernmarianaislands": "mp",
    "usvirginislands": "vi", "unitedstatesvirginislands": "vi",
}  # fmt: skip

# Canadian provinces and territories, English and French names, to Canada Post codes. Meta's
# parameter builder maps them the same way (it fails on accented spellings; we fold accents).
CA_PROVINCES = {
    "alberta": "ab", "britishcolumbia": "bc", "colombiebritannique": "bc", "manitoba": "mb",
    "newbrunswick": "nb", "nouveaubrunswick": "nb", "newfoundlandandlabrador": "nl",
    "newfoundland": "nl", "terreneuveetlabrador": "nl", "novascotia": "ns",
    "nouvelleecosse": "ns", "ontario": "on", "princeedwardisland": "pe",
    "ileduprinceedouard": "pe", "quebec": "qc", "saskatchewan": "sk",
    "northwestterritories": "nt", "territoiresdunordouest": "nt", "nunavut": "nu",
    "yukon": "yt",
}  # fmt: skip

STATE_CODES = {**US_STATES, **CA_PROVINCES}

# Names pycountry does not carry: colloquial English, endonyms and the Russian and Uzbek names
# used in Central Asia. Values are ISO 3166-1 alpha-2; pycountry adds official names and codes.
COUNTRY_ALIASES = {
    "uk": "gb", "britain": "gb", "greatbritain": "gb", "england": "gb", "scotland": "gb",
    "wales": "gb", "northernireland": "gb", "unitedkingdomofgreatbritain": "gb",
    "usa": "us", "america": "us", "unitedstatesofamerica": "us", "сша": "us", "aqsh": "us",
    "uzbekistan": "uz", "ozbekiston": "uz", "узбекистан": "uz", "узбекистон": "uz",
    "russia": "ru", "россия": "ru", "rossiya": "ru", "российскаяфедерация": "ru",
    "казахстан": "kz", "qozogiston": "kz", "кыргызстан": "kg", "киргизия": "kg",
    "qirgiziston": "kg", "kyrgyzstan": "kg", "таджикистан": "tj", "tojikiston": "tj",
    "туркменистан": "tm", "turkmaniston": "tm", "украина": "ua", "ukraina": "ua",
    "беларусь": "by", "белоруссия": "by", "belorussiya": "by", "азербайджан": "az",
    "ozarbayjon": "az", "армения": "am", "грузия": "ge", "gruziya": "ge", "turkey": "tr",
    "турция": "tr", "turkiya": "tr", "германия": "de", "germaniya": "de", "китай": "cn",
    "xitoy": "cn", "southkorea": "kr", "южнаякорея": "kr", "janubiykoreya": "kr",
    "northkorea": "kp", "czechrepublic": "cz", "holland": "nl", "thenetherlands": "nl",
    "vietnam": "vn", "laos": "la", "syria": "sy", "iran": "ir", "moldova": "md",
    "bolivia": "bo", "venezuela": "ve", "tanzania": "tz", "taiwan": "tw", "palestine": "ps",
    "vatican": "va", "vaticancity": "va", "ivorycoast": "ci", "capeverde": "cv",
    "swaziland": "sz", "macedonia": "mk", "burma": "mm", "uae": "ae", "emirates": "ae",
    "оаэ": "ae",
}  # fmt: skip
