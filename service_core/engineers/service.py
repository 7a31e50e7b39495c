"""Engineers: who they are, what they can do, where they start from and when they work."""

from __future__ import annotations

from psycopg import AsyncConnection, errors
from psycopg.rows import class_row

from service_core.engineers.models import Engineer
from service_core.engineers.schemas import EngineerCreate, EngineerUpdate, SkillLevel
from service_core.errors import Conflict, NotFound

_SELECT = """
select e.id, e.name, e.email, e.phone,
       coalesce((select jsonb_agg(jsonb_build_object('skill', k.skill, 'level', k.level) order by k.skill)
                   from service.engineer_skills k
                  where k.engineer_id = e.id), '[]'::jsonb) as skills,
       e.home_lat, e.home_lon, e.work_days, e.work_start, e.work_end, e.timezone, e.active, e.created_at
  from service.engineers e
 where (%(id)s::bigint is null or e.id = %(id)s)
   and (%(active)s::boolean is null or e.active = %(active)s)
 order by e.id
"""


async def get(conn: AsyncConnection, *, engineer_id: int) -> Engineer:
    """The engineer, or NotFound."""
    async with conn.cursor(row_factory=class_row(Engineer)) as cur:
        await cur.execute(_SELECT, {"id": engineer_id, "active": None})
        row = await cur.fetchone()
    if row is None:
        raise NotFound(f"engineer {engineer_id} not found")
    return row


async def get_all(conn: AsyncConnection, *, active: bool | None = None) -> list[Engineer]:
    """Engineers by id, optionally only the active (or inactive) ones."""
    async with conn.cursor(row_factory=class_row(Engineer)) as cur:
        await cur.execute(_SELECT, {"id": None, "active": active})
        return await cur.fetchall()


async def _set_skills(conn: AsyncConnection, *, engineer_id: int, skills: list[SkillLevel]) -> None:
    await conn.execute("delete from service.engineer_skills where engineer_id = %(id)s", {"id": engineer_id})
    await conn.execute(
        """
        insert into service.engineer_skills (engineer_id, skill, level)
        select %(id)s, u.skill, u.level from unnest(%(skills)s::text[], %(levels)s::smallint[]) as u(skill, level)
        """,
        {"id": engineer_id, "skills": [s.skill for s in skills], "levels": [s.level for s in skills]},
    )


async def create(conn: AsyncConnection, *, engineer_in: EngineerCreate) -> Engineer:
    """Add an engineer with their skills."""
    hours = engineer_in.working_hours
    try:
        async with conn.transaction():
            cur = await conn.execute(
                """
                insert into service.engineers
                       (name, email, phone, home_lat, home_lon, work_days, work_start, work_end, timezone, active)
                values (%(name)s, %(email)s, %(phone)s, %(home_lat)s, %(home_lon)s,
                        %(days)s::smallint[], %(start)s, %(end)s, %(timezone)s, %(active)s)
                returning id
                """,
                engineer_in.model_dump(exclude={"skills", "working_hours"}) | hours.model_dump(),
            )
            (engineer_id,) = await cur.fetchone()
            await _set_skills(conn, engineer_id=engineer_id, skills=engineer_in.skills)
    except errors.UniqueViolation:
        raise Conflict(f"an engineer with email {engineer_in.email!r} already exists") from None
    return await get(conn, engineer_id=engineer_id)


async def update(conn: AsyncConnection, *, engineer_id: int, engineer_in: EngineerUpdate) -> Engineer:
    """Change the fields given; skills, when given, replace the old list."""
    cur = await conn.execute("select 1 from service.engineers where id = %(id)s for update", {"id": engineer_id})
    if await cur.fetchone() is None:
        raise NotFound(f"engineer {engineer_id} not found")
    current = await get(conn, engineer_id=engineer_id)
    changes = engineer_in.model_dump(exclude_unset=True, exclude={"skills", "working_hours"})
    hours = engineer_in.working_hours
    values = {
        "id": current.id,
        "name": current.name,
        "email": current.email,
        "phone": current.phone,
        "home_lat": current.home_lat,
        "home_lon": current.home_lon,
        "active": current.active,
        "days": hours.days if hours else current.work_days,
        "start": hours.start if hours else current.work_start,
        "end": hours.end if hours else current.work_end,
        "timezone": hours.timezone if hours else current.timezone,
    } | changes
    try:
        async with conn.transaction():
            await conn.execute(
                """
                update service.engineers
                   set name = %(name)s, email = %(email)s, phone = %(phone)s,
                       home_lat = %(home_lat)s, home_lon = %(home_lon)s, work_days = %(days)s::smallint[],
                       work_start = %(start)s, work_end = %(end)s, timezone = %(timezone)s, active = %(active)s
                 where id = %(id)s
                """,
                values,
            )
            if engineer_in.skills is not None:
                await _set_skills(conn, engineer_id=engineer_id, skills=engineer_in.skills)
    except errors.UniqueViolation:
        raise Conflict(f"an engineer with email {values['email']!r} already exists") from None
    return await get(conn, engineer_id=engineer_id)
