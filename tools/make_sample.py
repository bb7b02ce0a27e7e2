#!/usr/bin/env python3
"""Generates the synthetic sample survey in sample/ and checks it against the published figures.

    tools/make_sample.py [--figures tests/data/mnr-indicators.tsv] [--out sample]

Writes countries.csv (42 placeholder countries X01..X42), answers.csv and practices.csv. The answer
counts reproduce every published figure of the indicators table ("Y/N all|high|lmic", plus the
parenthesised details). The output is a pure function of the fixed seed, so re-running it yields the
same files. After writing, it reads the files back, recounts every figure, and exits 1 if any is off.
"""

import argparse
import csv
import io
import os
import random
import re
import sys

SEED = 20240611
ANSWERS = ("yes", "partial", "no", "unknown")
INCOME_COUNTS = (("high", 15), ("upper_middle", 15), ("lower_middle", 11), ("low", 1))
REGIONS = ("africa", "americas", "asia_pacific", "europe_central_asia", "middle_east_north_africa")
# In schemas/mnr-survey-v1.json but not in the published table: gets synthetic answers like "none".
EXTRA_INDICATORS = (("c19_corporate_social_responsibility", 19),)

FIGURE_RE = re.compile(r"^(\d+)/(\d+) (all|high|lmic)(?: \((.*)\))?$")
WITHOUT_ALL_RE = re.compile(r"^the (\d+) without are all (high|lmic)$")
NOT_CONNECTED_RE = re.compile(r"^of the (\d+) not connected, (\d+) (high|lmic)$")


def parse_figures(path):
    """Returns [(id, capability, figure or None)] in table order; figure = dict(y, n, group, detail)."""
    rows = []
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter="\t")
        for r in reader:
            text = r["published_figure"].strip()
            if text == "none":
                rows.append((r["id"], int(r["capability"]), None))
                continue
            m = FIGURE_RE.match(text)
            if not m:
                sys.exit(f"{path}: indicator {r['id']}: cannot read figure {text!r}")
            fig = {"y": int(m.group(1)), "n": int(m.group(2)), "group": m.group(3),
                   "detail": m.group(4), "text": text}
            rows.append((r["id"], int(r["capability"]), fig))
    return rows


def high_non_yes_required(fig):
    """How many high-income responders must answer something other than yes, or None if free."""
    d = fig["detail"]
    if not d:
        return None
    m = WITHOUT_ALL_RE.match(d)
    if m:
        if m.group(2) != "lmic" or int(m.group(1)) != fig["n"] - fig["y"]:
            sys.exit(f"unsupported detail {d!r}")
        return 0
    m = NOT_CONNECTED_RE.match(d)
    if m:
        if m.group(3) != "lmic" or int(m.group(1)) != fig["n"] - fig["y"]:
            sys.exit(f"unsupported detail {d!r}")
        return int(m.group(1)) - int(m.group(2))
    sys.exit(f"unsupported detail {d!r}")


def plan_counts(fig, rng):
    """Returns (high_n, high_yes, lmic_n, lmic_yes) matching the figure and its details."""
    y, n, group = fig["y"], fig["n"], fig["group"]
    if group == "high":
        high_n, high_yes = n, y
        # Pick a consistent, plausible all-country figure: lmic lags behind high income.
        lmic_n = 27 - rng.choice((0, 0, 1))
        lmic_yes = round(lmic_n * (y / n) * 0.7)
        return high_n, high_yes, lmic_n, lmic_yes
    if group == "lmic":
        lmic_n, lmic_yes = n, y
        high_n = 15
        high_yes = min(high_n, round(high_n * min(1.0, (y / n) * 2.5 + 0.1)))
        return high_n, high_yes, lmic_n, lmic_yes
    # "all": non-responders come from lmic countries (as in the report, most gaps are there).
    missing = 42 - n
    lmic_n = 27 - missing
    high_n = 15
    required = high_non_yes_required(fig)
    if required is not None:
        high_yes = high_n - required
    else:
        p = y / n
        high_yes = min(high_n, round(high_n * (p + (1 - p) * 0.5)))
    lmic_yes = y - high_yes
    if lmic_yes > lmic_n:  # shift yes answers to high income while they fit
        high_yes += lmic_yes - lmic_n
        lmic_yes = lmic_n
    if lmic_yes < 0 or high_yes > high_n or high_yes < 0:
        sys.exit(f"cannot plan figure {fig['text']}")
    if required is not None and high_n - high_yes != required:
        sys.exit(f"cannot plan figure {fig['text']} with its detail")
    return high_n, high_yes, lmic_n, lmic_yes


NOTES_EN = [
    "Confirmed by the national focal point",
    "Draft law, not yet adopted",
    "Covers the capital only, rural districts to follow",
    'Ministry calls it a "whole-of-government" plan',
    "Pilot phase ended in 2021; evaluation pending",
    "Partly funded by donors, partly by the state budget",
    "Answer based on the 2019 review\nTo be checked with the ministry of justice",
    'Two agencies share the mandate, "lead" role unclear',
    "Only NGO-run, no state funding",
    "Staff trained, but high turnover",
]
NOTES_FR = [
    "Confirmé par le point focal national",
    "Projet de loi en cours d'examen, adoption prévue l'an prochain",
    "Couverture limitée à la capitale, les régions suivront",
    'Le ministère parle d\'une stratégie "globale", sans budget dédié',
    "Réponse fondée sur l'évaluation de 2019\nÀ vérifier auprès du ministère de la justice",
    "Financement mixte : bailleurs, État",
]
COUNTRY_WORDS = ["the capital", "two provinces", "the northern region", "coastal districts",
                 "three pilot cities"]

PRACTICE_EN = {
    "good_practice": [
        ("Joint training for police and social workers",
         "A joint curriculum for police officers, prosecutors and social workers is delivered twice a "
         "year in {place}. Referral pathways were agreed in writing by every agency, which cut the "
         "delay between a first report and specialist support."),
        ("Helpline chat channel",
         "The child helpline added a chat channel and longer opening hours, which increased contacts "
         "from adolescents in {place}. Counsellors follow a shared protocol for online abuse cases."),
        ("Coordination body publishes its decisions",
         "The national coordination body meets quarterly and publishes a short public summary of its "
         "decisions, so that civil society can follow up."),
    ],
    "challenge": [
        ("Staff turnover in specialist units",
         "Specialist investigators often move to other units after training, so skills are lost. "
         "A retention scheme is being discussed for {place}."),
        ("Limited forensic capacity",
         "Digital forensic examinations take months because one laboratory serves the whole country; "
         "cases from {place} wait longest."),
    ],
    "lesson_learned": [
        ("Involve young people early",
         "Awareness materials tested with a youth panel were clearer and reached more children than "
         "those written by adults alone, in particular in {place}."),
        ("Agree data definitions first",
         "Agencies counted cases in different ways; a shared glossary, based on the universal "
         "terminology, made the yearly figures comparable."),
    ],
}
PRACTICE_FR = {
    "good_practice": [
        ("Formation conjointe police et travailleurs sociaux",
         "Un programme commun destiné aux policiers, aux procureurs et aux travailleurs sociaux est "
         "dispensé deux fois par an dans {place_fr}. Les circuits d'orientation ont été validés par "
         "écrit par chaque organisme."),
        ("Ligne d'écoute élargie",
         "La ligne d'assistance pour les enfants a élargi ses horaires et ouvert un canal de "
         "discussion en ligne, très utilisé par les adolescents de {place_fr}."),
    ],
    "challenge": [
        ("Rotation du personnel spécialisé",
         "Les enquêteurs formés quittent souvent les unités spécialisées ; les compétences se perdent. "
         "Un dispositif de fidélisation est à l'étude."),
    ],
    "lesson_learned": [
        ("Associer les jeunes dès le début",
         "Les supports de sensibilisation testés avec un panel de jeunes, à {place_fr}, étaient plus "
         "clairs et ont touché davantage d'enfants."),
    ],
}
PLACES_FR = ["la capitale", "deux provinces", "la région du nord", "les districts côtiers",
             "trois villes pilotes"]


def make_countries(rng):
    groups = [g for g, count in INCOME_COUNTS for _ in range(count)]
    rng.shuffle(groups)
    countries = []
    for i, g in enumerate(groups, start=1):
        code = f"X{i:02d}"
        countries.append({"code": code, "name": f"Placeholder country {code}", "income_group": g,
                          "region": REGIONS[rng.randrange(len(REGIONS))]})
    return countries


def non_yes(rng):
    return rng.choices(("partial", "no", "unknown"), weights=(35, 50, 15))[0]


def note_for(rng, answer):
    r = rng.random()
    if r < 0.72:
        return ""
    if r < 0.92:
        return rng.choice(NOTES_EN)
    return rng.choice(NOTES_FR)


def make_answers(rng, countries, figures):
    high = [c["code"] for c in countries if c["income_group"] == "high"]
    lmic = [c["code"] for c in countries if c["income_group"] != "high"]
    rows = {}  # (country, indicator) -> (answer, note)
    indicators = list(figures) + [(ind, cap, None) for ind, cap in EXTRA_INDICATORS]
    for ind, _cap, fig in indicators:
        if fig is None:
            n_resp = 42 - rng.randrange(0, 6)
            responders = rng.sample(high + lmic, n_resp)
            for code in responders:
                answer = rng.choices(ANSWERS, weights=(45, 25, 22, 8))[0]
                rows[(code, ind)] = answer
            continue
        high_n, high_yes, lmic_n, lmic_yes = plan_counts(fig, rng)
        for members, n, n_yes in ((high, high_n, high_yes), (lmic, lmic_n, lmic_yes)):
            responders = rng.sample(members, n)
            yes = set(rng.sample(responders, n_yes))
            for code in responders:
                rows[(code, ind)] = "yes" if code in yes else non_yes(rng)
    order = {ind: i for i, (ind, _c, _f) in enumerate(indicators)}
    out = []
    for (code, ind) in sorted(rows, key=lambda k: (k[0], order[k[1]])):
        answer = rows[(code, ind)]
        out.append({"country": code, "indicator": ind, "answer": answer,
                    "note": note_for(rng, answer)})
    # Make sure the edge cases are present whatever the draw: a comma, a quote, a newline, French.
    specials = [
        "Covers the capital only, rural districts to follow",
        'Ministry calls it a "whole-of-government" plan',
        "Answer based on the 2019 review\nTo be checked with the ministry of justice",
        "Réponse fondée sur l'évaluation de 2019\nÀ vérifier auprès du ministère de la justice",
        "Financement mixte : bailleurs, État",
    ]
    for i, text in enumerate(specials):
        out[7 + i * 61]["note"] = text
    return out


def make_practices(rng, countries):
    out = []
    for c in countries:
        for _ in range(rng.randint(2, 4)):
            french = rng.random() < 0.3
            bank = PRACTICE_FR if french else PRACTICE_EN
            kind = rng.choice(sorted(bank))
            title, text = rng.choice(bank[kind])
            i = rng.randrange(len(COUNTRY_WORDS))
            out.append({"country": c["code"], "capability": str(rng.randint(1, 21)), "kind": kind,
                        "title": title, "text": text.format(place=COUNTRY_WORDS[i],
                                                            place_fr=PLACES_FR[i]),
                        "lang": "fr" if french else "en"})
    return out


def write_csv(path, header, rows):
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=header, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    w.writeheader()
    w.writerows(rows)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(buf.getvalue())
    os.replace(tmp, path)


def read_csv(path):
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def verify(out_dir, figures):
    """Recounts the written files; returns a list of problems (empty when every figure holds)."""
    problems = []
    countries = read_csv(os.path.join(out_dir, "countries.csv"))
    answers = read_csv(os.path.join(out_dir, "answers.csv"))
    income = {c["code"]: c["income_group"] for c in countries}
    expected = {f"X{i:02d}" for i in range(1, 43)}
    if set(income) != expected or len(countries) != 42:
        problems.append("countries.csv: codes are not exactly X01..X42")
    for g, count in INCOME_COUNTS:
        got = sum(1 for v in income.values() if v == g)
        if got != count:
            problems.append(f"countries.csv: {got} {g} countries, want {count}")
    seen = set()
    for a in answers:
        key = (a["country"], a["indicator"])
        if key in seen:
            problems.append(f"answers.csv: duplicate row {key}")
        seen.add(key)
        if a["answer"] not in ANSWERS:
            problems.append(f"answers.csv: bad answer {a['answer']!r}")
    for ind, _cap, fig in figures:
        if fig is None:
            continue
        rows = [a for a in answers if a["indicator"] == ind]

        def in_group(code, group):
            return group == "all" or (income[code] == "high") == (group == "high")

        grp = [a for a in rows if in_group(a["country"], fig["group"])]
        y = sum(1 for a in grp if a["answer"] == "yes")
        if (y, len(grp)) != (fig["y"], fig["n"]):
            problems.append(f"{ind}: got {y}/{len(grp)} {fig['group']}, published {fig['text']}")
        required = high_non_yes_required(fig)
        if required is not None:
            high_without = sum(1 for a in rows if income[a["country"]] == "high" and a["answer"] != "yes")
            if high_without != required:
                problems.append(f"{ind}: {high_without} high-income without, published {fig['text']}")
    return problems


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--figures", default=os.path.join(root, "tests", "data", "mnr-indicators.tsv"),
                    help="the published indicators table (TSV)")
    ap.add_argument("--out", default=os.path.join(root, "sample"), help="output directory")
    ap.add_argument("--check", action="store_true", help="only verify the existing files")
    args = ap.parse_args()

    figures = parse_figures(args.figures)
    if not args.check:
        rng = random.Random(SEED)
        countries = make_countries(rng)
        answers = make_answers(rng, countries, figures)
        practices = make_practices(rng, countries)
        os.makedirs(args.out, exist_ok=True)
        write_csv(os.path.join(args.out, "countries.csv"),
                  ["code", "name", "income_group", "region"], countries)
        write_csv(os.path.join(args.out, "answers.csv"),
                  ["country", "indicator", "answer", "note"], answers)
        write_csv(os.path.join(args.out, "practices.csv"),
                  ["country", "capability", "kind", "title", "text", "lang"], practices)
    problems = verify(args.out, figures)
    for p in problems:
        print(f"make_sample: {p}", file=sys.stderr)
    if problems:
        return 1
    n = sum(1 for _i, _c, f in figures if f is not None)
    print(f"make_sample: {args.out}: all {n} published figures reproduced")
    return 0


if __name__ == "__main__":
    sys.exit(main())
