"""Print the container table of docs/catalog.md from `mystira_data.catalog`.

    uv run python docs/catalog_table.py > /tmp/table.md

The catalog is the source of truth; this script only renders it, so the table in
docs/catalog.md can be refreshed (and checked) whenever a container fact changes.
"""

from __future__ import annotations

from mystira_data import catalog

HEADER = (
    "| area | container | partition key | placement | table | cache TTL class | why |",
    "|---|---|---|---|---|---|---|",
)


def placement_of(spec: catalog.ContainerSpec) -> str:
    """The placement, with the migration priority or the host container when there is one."""
    text = spec.placement.value
    if spec.priority is not None:
        text += f" (priority {spec.priority})"
    if spec.embedded_in is not None:
        text += f" in {spec.embedded_in}"
    return text


def row(spec: catalog.ContainerSpec) -> str:
    cells = (
        spec.area,
        spec.name,
        f"`{spec.partition_key}`",
        placement_of(spec),
        f"`{spec.table}`" if spec.table else "—",
        spec.ttl_class.value,
        spec.rationale,
    )
    return "| " + " | ".join(cells) + " |"


def table() -> str:
    return "\n".join((*HEADER, *(row(spec) for spec in catalog.CONTAINERS)))


if __name__ == "__main__":
    print(table())
