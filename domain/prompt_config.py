"""PromptConfig: the assistant's versioned prompt configuration, one aggregate per workspace.

A version's content is the system prompt, the few-shot examples (ordered, each with an id), the topic rules, the
escalation logic (configuration only: the escalation engine reads it) and the persona (tone, language, length,
models). Admins save drafts (many at once), publish a draft as the next version, and roll back to any earlier
version, which appends a new version with that version's content: history is never rewritten.

The aggregate is created on the first draft; its ``Created`` event records the prompt the workspace used until
then as the baseline version (numbered like the workspace's ``prompt_version``, 1 for a new workspace), so turns
answered before and after versioning began keep one numbering.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.clock import ClockedEvent
from domain.errors import Conflict, InvalidInput, NotFound
from domain.prompt_content import PromptContent

MAX_NOTE_CHARS = 500
MAX_DRAFTS = 20
_NS = uuid5(NAMESPACE_URL, "https://chatassist.dev/prompt-config")


def prompt_config_id(workspace_id: UUID) -> UUID:
    """The id of a workspace's PromptConfig aggregate."""
    return uuid5(_NS, str(workspace_id))


def check_note(note: object) -> str:
    """A change note of at most MAX_NOTE_CHARS characters (may be empty)."""
    if not isinstance(note, str) or len(note) > MAX_NOTE_CHARS:
        raise InvalidInput(f"note must be text of at most {MAX_NOTE_CHARS} characters.", code="invalid_note")
    return note.strip()


@dataclass(frozen=True)
class PromptVersion:
    """A version as it went live: ``kind`` initial, published or rollback."""

    version: int
    kind: str
    content: PromptContent
    by: UUID | None
    note: str
    based_on_version: int | None = None
    restored_version: int | None = None
    from_draft: str | None = None
    approved_by: UUID | None = None


@dataclass(frozen=True)
class Draft:
    """A saved, unpublished content, based on the live version when it was first saved. ``editors``: everyone who
    saved it; ``review``: pending (again after every change), approved or rejected, by a second admin."""

    draft_id: str
    content: PromptContent
    based_on_version: int
    by: UUID
    editors: tuple[UUID, ...] = ()
    review: str = "pending"
    reviewed_by: UUID | None = None
    review_note: str = ""


class VersionConflict(Conflict):
    """Publishing on top of a version that is no longer live; ``published_since`` says what changed."""

    def __init__(self, message: str, published_since: list[dict[str, Any]]) -> None:
        super().__init__(message, code="version_conflict")
        self.published_since = published_since


class PromptConfig(Aggregate):
    """Published versions (append only) and drafts of one workspace's prompt configuration."""

    class Event(ClockedEvent):
        """Stamped by domain/clock.py (the current time outside the seeder)."""

    @staticmethod
    def create_id(workspace_id: UUID, baseline_version: int, content: dict[str, Any]) -> UUID:
        """Derived from the workspace id, so reading it is one get by id."""
        return prompt_config_id(workspace_id)

    if TYPE_CHECKING:  # the event classes @event("Name") makes at runtime, declared for mypy (fields as the methods')

        class Created(Aggregate.Created, Event):
            workspace_id: UUID
            baseline_version: int
            content: dict[str, Any]

        class DraftSaved(Event):
            draft_id: str
            content: dict[str, Any]
            based_on_version: int
            by: UUID

        class DraftDiscarded(Event):
            draft_id: str
            by: UUID

        class DraftApproved(Event):
            draft_id: str
            note: str
            by: UUID

        class DraftRejected(Event):
            draft_id: str
            note: str
            by: UUID

        class VersionPublished(Event):
            version: int
            from_draft: str
            content: dict[str, Any]
            note: str
            by: UUID
            based_on_version: int
            approved_by: UUID | None

        class RolledBack(Event):
            version: int
            restored_version: int
            note: str
            by: UUID

    @event("Created")
    def __init__(self, workspace_id: UUID, baseline_version: int, content: dict[str, Any]) -> None:
        self.workspace_id = workspace_id
        baseline = PromptVersion(baseline_version, "initial", PromptContent.from_dict(content), None, "")
        self.versions: dict[int, PromptVersion] = {baseline_version: baseline}
        self.live_version = baseline_version
        self.drafts: dict[str, Draft] = {}

    @property
    def live(self) -> PromptVersion:
        """The version in force."""
        return self.versions[self.live_version]

    @property
    def versioned(self) -> bool:
        """True once a version was published or rolled back to (until then the workspace's own prompt serves)."""
        return self.live.kind != "initial"

    def get_version(self, number: int) -> PromptVersion:
        """A version, or NotFound ``version_not_found``."""
        found = self.versions.get(number) if isinstance(number, int) else None
        if found is None:
            known = f"{min(self.versions)} to {max(self.versions)}"
            raise NotFound(f"There is no prompt version {number}; versions are {known}.", code="version_not_found")
        return found

    def draft(self, draft_id: str) -> Draft:
        """A draft, or NotFound ``draft_not_found``."""
        found = self.drafts.get(draft_id)
        if found is None:
            raise NotFound(
                f"There is no draft {draft_id[:64]!r}: it was published, discarded or never saved.",
                code="draft_not_found",
            )
        return found

    def save_draft(self, draft_id: str, changes: dict[str, Any], by: UUID) -> Draft:
        """A new draft from the live content with ``changes``, or ``changes`` applied to an existing draft."""
        existing = self.drafts.get(draft_id)
        if existing is None and len(self.drafts) >= MAX_DRAFTS:
            raise Conflict(
                f"There are already {MAX_DRAFTS} drafts: publish or discard one first.", code="too_many_drafts"
            )
        base = existing.content if existing else self.live.content
        content = base.with_changes(changes)
        based_on = existing.based_on_version if existing else self.live_version
        self._draft_saved(draft_id=draft_id, content=content.to_dict(), based_on_version=based_on, by=by)
        return self.drafts[draft_id]

    @event("DraftSaved")
    def _draft_saved(self, draft_id: str, content: dict[str, Any], based_on_version: int, by: UUID) -> None:
        editors = self.drafts[draft_id].editors if draft_id in self.drafts else ()
        editors += () if by in editors else (by,)
        self.drafts[draft_id] = Draft(draft_id, PromptContent.from_dict(content), based_on_version, by, editors)

    def discard_draft(self, draft_id: str, by: UUID) -> None:
        """Forget a draft."""
        self.draft(draft_id)
        self._draft_discarded(draft_id=draft_id, by=by)

    @event("DraftDiscarded")
    def _draft_discarded(self, draft_id: str, by: UUID) -> None:
        del self.drafts[draft_id]

    def review_draft(self, draft_id: str, approve: bool, note: str, by: UUID) -> Draft:
        """A second admin approves or rejects a draft (``DraftApproved`` / ``DraftRejected``); its editors may not."""
        draft = self.draft(draft_id)
        if by in draft.editors:
            raise Conflict(
                "A second admin must review this draft: you edited it, so ask another admin.", code="own_draft"
            )
        if approve and draft.review == "approved":
            raise Conflict("This draft is already approved: it can be published.", code="already_approved")
        if approve:
            self._draft_approved(draft_id=draft_id, note=check_note(note), by=by)
        else:
            self._draft_rejected(draft_id=draft_id, note=check_note(note), by=by)
        return self.drafts[draft_id]

    @event("DraftApproved")
    def _draft_approved(self, draft_id: str, note: str, by: UUID) -> None:
        self.drafts[draft_id] = replace(self.drafts[draft_id], review="approved", reviewed_by=by, review_note=note)

    @event("DraftRejected")
    def _draft_rejected(self, draft_id: str, note: str, by: UUID) -> None:
        self.drafts[draft_id] = replace(self.drafts[draft_id], review="rejected", reviewed_by=by, review_note=note)

    def check_based_on(self, based_on_version: int) -> None:
        """VersionConflict unless ``based_on_version`` is still the live version."""
        if based_on_version == self.live_version:
            return
        self.get_version(based_on_version)
        since = self.changes_since(based_on_version)
        raise VersionConflict(
            f"Version {self.live_version} went live after version {based_on_version}, which this change is based "
            "on: review what changed (published_since), then publish again based on the live version.",
            since,
        )

    def changes_since(self, version: int) -> list[dict[str, Any]]:
        """The versions after ``version``: number, kind, author, note and the fields each changed."""
        out = []
        for number in sorted(v for v in self.versions if v > version):
            entry, previous = self.versions[number], self.versions[max(v for v in self.versions if v < number)]
            out.append(
                {
                    "version": number,
                    "kind": entry.kind,
                    "by": str(entry.by) if entry.by else None,
                    "note": entry.note,
                    "changed_fields": entry.content.changed_fields(previous.content),
                }
            )
        return out

    def publish(
        self, draft_id: str, note: str, based_on_version: int | None, by: UUID, *, approval_required: bool = False
    ) -> PromptVersion:
        """The draft becomes the next version (and is no longer a draft); with ``approval_required`` only once a
        second admin approved it (409 ``approval_required``)."""
        draft = self.draft(draft_id)
        base = draft.based_on_version if based_on_version is None else based_on_version
        self.check_based_on(base)
        if approval_required and draft.review != "approved":
            raise Conflict(
                "This workspace requires a second admin's approval before a draft is published: ask another admin "
                "to approve it.",
                code="approval_required",
            )
        number = max(self.versions) + 1
        self._version_published(
            version=number,
            from_draft=draft_id,
            content=draft.content.to_dict(),
            note=check_note(note),
            by=by,
            based_on_version=base,
            approved_by=draft.reviewed_by if draft.review == "approved" else None,
        )
        return self.versions[number]

    @event("VersionPublished")
    def _version_published(
        self,
        version: int,
        from_draft: str,
        content: dict[str, Any],
        note: str,
        by: UUID,
        based_on_version: int,
        approved_by: UUID | None = None,
    ) -> None:
        content_value = PromptContent.from_dict(content)
        self.versions[version] = PromptVersion(
            version, "published", content_value, by, note, based_on_version, None, from_draft, approved_by
        )
        self.live_version = version
        self.drafts.pop(from_draft, None)

    def roll_back(self, to_version: int, note: str, by: UUID) -> PromptVersion:
        """Make version ``to_version``'s content live again, as a new version."""
        target = self.get_version(to_version)
        if to_version == self.live_version:
            raise Conflict(f"Version {to_version} is already live: nothing to roll back.", code="already_live")
        self._rolled_back(version=max(self.versions) + 1, restored_version=target.version, note=check_note(note), by=by)
        return self.live

    @event("RolledBack")
    def _rolled_back(self, version: int, restored_version: int, note: str, by: UUID) -> None:
        restored = self.versions[restored_version]
        self.versions[version] = PromptVersion(
            version, "rollback", restored.content, by, note, self.live_version, restored_version
        )
        self.live_version = version
