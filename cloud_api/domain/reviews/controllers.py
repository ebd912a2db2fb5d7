from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.openapi.spec import Example
from litestar.params import Body, FromPath, FromQuery, Parameter

from cloud_api.domain.apikeys.guards import current_key, requires_api_key
from cloud_api.domain.reviews.schemas import DecisionIn, DecisionOut, ReviewQueue
from cloud_api.domain.reviews.services import ReviewService
from cloud_api.server import openapi_docs as docs
from cloud_api.server.limits import MAX_OFFSET
from shared_models import ReviewPriority


class ReviewController(Controller):
    path = "/reviews"
    tags = ["reviews"]
    guards = [requires_api_key]

    @get(
        "/queue",
        responses={**docs.ok(ReviewQueue, "One URGENT claim waiting", docs.QUEUE), **docs.problems(422)},
    )
    async def queue(
        self,
        reviews: NamedDependency[ReviewService],
        priority: FromQuery[ReviewPriority | None] = None,
        limit: int = Parameter(default=50, ge=1, le=500),
        offset: int = Parameter(default=0, ge=0, le=MAX_OFFSET),
    ) -> ReviewQueue:
        """Assessed claims awaiting a decision: URGENT > STANDARD > LOW_PRIORITY, then oldest first."""
        return await reviews.queue(priority=priority, limit=limit, offset=offset)

    @post(
        "/{claim_id:str}/decision",
        status_code=201,
        responses={
            **docs.ok(DecisionOut, "Recorded and audited", docs.DECISION_OUT, 201),
            **docs.problems(404, 409, 413, 422),
        },
    )
    async def decide(
        self,
        request: Request,
        claim_id: FromPath[str],
        data: Annotated[
            DecisionIn, Body(examples=[Example(summary="Approve with overrides", value=docs.DECISION_IN)])
        ],
        reviews: NamedDependency[ReviewService],
    ) -> DecisionOut:
        """Record a human decision with optional overrides (REQUEST_MORE_INFO keeps it in the queue)."""
        return await reviews.decide(claim_id, data, default_reviewer=f"apikey:{current_key(request).name}")
