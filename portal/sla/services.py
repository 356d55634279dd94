"""A contract's SLA policy: the saved one, or the bids' figures until the vendor manager changes them."""

from dataclasses import dataclass

import sqlalchemy as sa
from babel.lists import format_list
from flask_babel import get_locale
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..i18n import DEFAULT
from .models import TARGETS, Clock, Severity, SlaPolicy, SlaTarget, default_policy

STATED = ("response", "on_site", "resolution")  # the figures the pages state: response, on site, fixed
PROMISES_SHOWN = 3  # a page states the figures of at most this many contracts; beyond, a sentence without numbers


def policy_for(contract_id):
    """The contract's policy; an unsaved default (the bids' figures, 7×24) if none is stored yet."""
    policy = db.session.scalar(sa.select(SlaPolicy).where(SlaPolicy.contract_id == contract_id))
    return policy or default_policy(contract_id)


def policies_for(contract_ids):
    """The policies of several contracts at once (one query, and one for their targets), by contract id; the bids'
    figures for a contract with none stored."""
    ids = list(dict.fromkeys(contract_ids))
    stored = (
        {
            p.contract_id: p
            for p in db.session.scalars(
                sa.select(SlaPolicy).where(SlaPolicy.contract_id.in_(ids)).options(selectinload(SlaPolicy.targets))
            )
        }
        if ids
        else {}
    )
    return {cid: stored.get(cid) or default_policy(cid) for cid in ids}


@dataclass(frozen=True)
class Promise:
    """Service levels as a page states them: the contracts that promise the same (one or more, by number), their
    clock, and the response, on-site and fix times, once if every severity has the same, otherwise per group of
    severities that share them."""

    contracts: tuple
    policy: SlaPolicy

    @property
    def numbers(self):
        """The contracts' numbers as the reader's language lists them (HT-1、HT-2和HT-3 / HT-1, HT-2, and HT-3)."""
        return format_list([c.number for c in self.contracts], locale=get_locale() or DEFAULT)

    @property
    def clock(self):
        return self.policy.clock

    @property
    def groups(self):
        """[(severities, target)]: severities with the same stated figures together ("A", "B–D" …), in order."""
        groups = []
        for target in sorted(self.policy.targets, key=lambda t: t.severity):
            figures = tuple(getattr(target, name) for name in STATED)
            if groups and groups[-1][2] == figures:
                groups[-1][0].append(target.severity)
            else:
                groups.append(([target.severity], target, figures))
        return [
            (levels[0] if len(levels) == 1 else f"{levels[0]}–{levels[-1]}", target)
            for levels, target, _figures in groups
        ]

    @property
    def uniform(self):
        """The target every severity shares, or None."""
        groups = self.groups
        return groups[0][1] if len(groups) == 1 else None


def stated_terms(policy):
    """What a page states of a policy: its clock (and working day) and each severity's stated figures."""
    hours = (policy.day_starts, policy.day_ends) if policy.clock != Clock.ALWAYS.value else None
    return (
        policy.clock,
        hours,
        tuple(sorted((t.severity, *(getattr(t, name) for name in STATED)) for t in policy.targets)),
    )


def promises(contracts):
    """The promises of the given contracts (a page's: at most a few), their policies loaded at once."""
    policies = policies_for([c.id for c in contracts])
    same = {}  # contracts that promise the same are stated once, together ("HT-2026-008、HT-2026-015 (7×24): …")
    for contract in contracts:
        same.setdefault(stated_terms(policies[contract.id]), []).append(contract)
    return [Promise(tuple(group), policies[group[0].id]) for group in same.values()]


def promises_in_scope(query):
    """The promises of the contracts a (scoped) query of contracts selects, if they are few enough to state each;
    None when there are more (a page then says it without numbers) or none."""
    from ..contracts.models import Contract

    contracts = db.session.scalars(query.order_by(Contract.number).limit(PROMISES_SHOWN + 1)).all()
    if not contracts or len(contracts) > PROMISES_SHOWN:
        return None
    return promises(contracts)


def form_data(policy):
    data = {"clock": policy.clock, "day_starts": policy.day_starts, "day_ends": policy.day_ends}
    for target in policy.targets:
        for name in TARGETS:
            data[f"{target.severity}_{name}"] = getattr(target, name)
    return data


def save_policy(contract_id, form, by):
    policy = db.session.scalar(sa.select(SlaPolicy).where(SlaPolicy.contract_id == contract_id))
    if policy is None:
        policy = default_policy(contract_id)
        db.session.add(policy)
    policy.clock, policy.day_starts, policy.day_ends = form.clock.data, form.day_starts.data, form.day_ends.data
    policy.updated_by_id = by.id
    targets = {t.severity: t for t in policy.targets}
    for severity in Severity:
        target = targets.get(severity.value) or SlaTarget(severity=severity.value)
        for name in TARGETS:
            setattr(target, name, form[f"{severity.value}_{name}"].data)
        if severity.value not in targets:
            policy.targets.append(target)
    db.session.flush()
    return policy
