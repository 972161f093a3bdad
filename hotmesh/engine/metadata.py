"""Upstream HotMesh's terse metadata keys, in one place.

The stored keys stay as upstream writes them (jobs, messages and plans of
either side must read the same), but code reads and writes them through these
two types:

- :class:`Address` names one activity execution of one job, as every engine
  message's ``metadata`` does: ``jid`` (job id), ``gid`` (the job's
  generation), ``aid`` (activity id), ``dad`` (its dimensional address).
- :class:`ParentRef` is how a child job remembers the ``await`` that started
  it, in the child's job metadata: ``pj`` (parent job id), ``pg`` (its
  generation), ``pd`` (the await's dimension), ``pa`` (the await's activity
  id), ``px`` (set when the parent does not wait: ``await: false``), and, for
  such a detached child, ``jt``/``jk`` (the topic and key it signals when it
  ends).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: the keys of an activity address, in the order upstream writes them
ADDRESS_KEYS = ("jid", "gid", "dad", "aid")


@dataclass(frozen=True, slots=True)
class Address:
    """One activity execution of one job (``jid``, ``gid``, ``aid``, ``dad``)."""

    job_id: Any
    gid: Any = None
    activity_id: Any = None
    dad: Any = None

    @classmethod
    def from_metadata(cls, md: Mapping[str, Any]) -> Address:
        """The address in a message's (or hook target's) metadata."""
        return cls(md.get("jid"), md.get("gid"), md.get("aid"), md.get("dad"))

    def to_metadata(self) -> dict[str, Any]:
        """``{jid, gid, dad, aid}`` as stored."""
        return {
            "jid": self.job_id,
            "gid": self.gid,
            "dad": self.dad,
            "aid": self.activity_id,
        }


@dataclass(frozen=True, slots=True)
class ParentRef:
    """The ``await`` a child job answers (``pj``, ``pg``, ``pd``, ``pa``, …)."""

    job_id: Any
    gid: Any = None
    dad: Any = None
    activity_id: Any = None
    #: the parent does not wait (``await: false``): told the child's id at once
    severed: Any = None
    join_topic: Any = None
    join_key: Any = None

    @classmethod
    def from_metadata(cls, md: Mapping[str, Any]) -> ParentRef:
        """The reference in a child's job metadata (or an ``await`` message)."""
        return cls(
            md.get("pj"),
            md.get("pg"),
            md.get("pd"),
            md.get("pa"),
            md.get("px"),
            md.get("jt"),
            md.get("jk"),
        )

    def to_metadata(self) -> dict[str, Any]:
        """``{pj, pg, pd, pa, px}`` (plus ``jt``/``jk`` when set), as stored."""
        md = {
            "pj": self.job_id,
            "pg": self.gid,
            "pd": self.dad,
            "pa": self.activity_id,
            "px": self.severed,
        }
        if self.join_topic is not None or self.join_key is not None:
            md.update(jt=self.join_topic, jk=self.join_key)
        return md

    @property
    def address(self) -> Address:
        """The parent's ``await`` activity, where the child's result goes."""
        return Address(self.job_id, self.gid, self.activity_id, self.dad)
