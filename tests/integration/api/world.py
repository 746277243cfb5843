"""A small game world for the API tests: two accounts with a profile each, a three-scene
scenario, a badge on its honesty axis, and a key per role. Written through the polyglot
repository, so it lands in whichever stores the phases name."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from mystira_data.api.auth.keys import KeyStore
from mystira_data.api.auth.roles import Role
from mystira_data.domain.badges import Badge
from mystira_data.domain.codec import codec_for
from mystira_data.domain.content import Branch, CompassChange, EchoLog, Scenario, Scene
from mystira_data.domain.users import Account, UserProfile
from mystira_data.polyglot.layer import Polyglot

TRUTH = "Tell the truth"
HIDE = "Hide behind the tree"
HELP = "Help the fox"


def scenario(scenario_id: str) -> Scenario:
    honesty = CompassChange(axis="honesty", delta=1.0)
    return Scenario(
        id=scenario_id,
        title="The whispering wood",
        scenes=[
            Scene(
                id="s1",
                title="The broken lantern",
                branches=[
                    Branch(
                        choice=TRUTH,
                        next_scene_id="s2",
                        echo_log=EchoLog(echo_type="honesty", description="owned up", strength=0.5),
                        compass_change=honesty,
                    ),
                    Branch(
                        choice=HIDE,
                        next_scene_id="s2",
                        compass_change=CompassChange(axis="honesty", delta=-0.5),
                    ),
                ],
            ),
            Scene(
                id="s2",
                title="The fox in the brambles",
                branches=[
                    Branch(
                        choice=HELP,
                        next_scene_id="s3",
                        compass_change=CompassChange(axis="empathy", delta=1.0),
                    )
                ],
            ),
            Scene(id="s3", title="Home by moonlight"),
        ],
    )


@dataclass
class World:
    account: str = field(default_factory=lambda: str(uuid.uuid4()))
    other_account: str = field(default_factory=lambda: str(uuid.uuid4()))
    profile: str = field(default_factory=lambda: str(uuid.uuid4()))
    other_profile: str = field(default_factory=lambda: str(uuid.uuid4()))
    scenario: str = field(default_factory=lambda: f"scn-{uuid.uuid4().hex[:8]}")
    badge: str = field(default_factory=lambda: f"badge-{uuid.uuid4().hex[:8]}")
    keys: dict[str, str] = field(default_factory=dict)

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}


async def build_world(poly: Polyglot) -> World:
    world = World()
    repo = poly.repository
    for account, profile, name in (
        (world.account, world.profile, "Ada"),
        (world.other_account, world.other_profile, "Linus"),
    ):
        holder = Account(
            id=account,
            external_user_id=f"ext-{account}",
            email=f"{account}@players.example",
            display_name=f"{name}'s family",
            user_profile_ids=[profile],
        )
        await repo.upsert("Accounts", _enc(holder))
        await repo.upsert(
            "UserProfiles", _enc(UserProfile(id=profile, name=name, account_id=account))
        )
    await repo.upsert("Scenarios", _enc(scenario(world.scenario)))
    badge = Badge(
        id=world.badge,
        age_group_id=UserProfile(id="x").age_group,
        compass_axis_id="honesty",
        title="Lantern bearer",
        required_score=1.0,
    )
    await repo.upsert("Badges", _enc(badge))
    keys = KeyStore(poly.raw_relational)
    world.keys["player"] = (await keys.create(Role.PLAYER, world.account))[1]
    world.keys["other"] = (await keys.create(Role.PLAYER, world.other_account))[1]
    world.keys["operator"] = (await keys.create(Role.OPERATOR))[1]
    world.keys["admin"] = (await keys.create(Role.ADMIN))[1]
    return world


def _enc(model: BaseModel) -> dict[str, Any]:
    return codec_for(type(model)).encode(model)
