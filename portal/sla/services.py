"""A contract's SLA policy: the saved one, or the bids' figures until the vendor manager changes them."""
import sqlalchemy as sa

from ..extensions import db
from .models import TARGETS, SlaPolicy, SlaTarget, Severity, default_policy


def policy_for(contract_id):
    """The contract's policy; an unsaved default (the bids' figures, 7×24) if none is stored yet."""
    policy = db.session.scalar(sa.select(SlaPolicy).where(SlaPolicy.contract_id == contract_id))
    return policy or default_policy(contract_id)


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
