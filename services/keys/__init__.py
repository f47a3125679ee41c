"""Per-user GW2 API key linking, discord-free: vault, validation, attempt limits, revalidation.

The Discord cog and the SQL storage build on these; nothing here talks to Discord, the database or
the GW2 API.
"""

from __future__ import annotations

from services.keys.attempts import AttemptLimiter, TooManyAttemptsError, retry_message
from services.keys.metrics import KeyMetrics
from services.keys.revalidation import (
    CheckResult,
    CycleDecision,
    KeyFailureState,
    RevalidationPolicy,
    decide,
    is_outage,
    record_result,
)
from services.keys.validation import (
    FORMAT_HELP,
    OPTIONAL_PERMISSIONS,
    PERMISSION_REASONS,
    REQUIRED_PERMISSIONS,
    KeyChecklist,
    KeyKind,
    OwnershipPolicy,
    OwnershipStatus,
    ParsedKey,
    PermissionCheck,
    check_ownership,
    classify_key,
    evaluate_key,
    normalize_key_input,
    ownership_code,
    parse_key,
)
from services.keys.vault import (
    KeyDecryptError,
    KeyMaterialError,
    KeyVault,
    KeyVaultError,
    LoadedVault,
    generate_key,
)

__all__ = [
    "FORMAT_HELP",
    "OPTIONAL_PERMISSIONS",
    "PERMISSION_REASONS",
    "REQUIRED_PERMISSIONS",
    "AttemptLimiter",
    "CheckResult",
    "CycleDecision",
    "KeyChecklist",
    "KeyDecryptError",
    "KeyFailureState",
    "KeyKind",
    "KeyMaterialError",
    "KeyMetrics",
    "KeyVault",
    "KeyVaultError",
    "LoadedVault",
    "OwnershipPolicy",
    "OwnershipStatus",
    "ParsedKey",
    "PermissionCheck",
    "RevalidationPolicy",
    "TooManyAttemptsError",
    "check_ownership",
    "classify_key",
    "decide",
    "evaluate_key",
    "generate_key",
    "is_outage",
    "normalize_key_input",
    "ownership_code",
    "parse_key",
    "record_result",
    "retry_message",
]
