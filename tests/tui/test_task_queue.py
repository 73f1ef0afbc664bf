"""The screens join the task queue once they show, so scheduling wakes the daemon."""

from store import wakeups


async def test_the_app_joins_the_task_queue_after_the_first_screen(make_app):
    app = make_app(connect_queue=True)

    async with app.run_test(size=(120, 40)) as pilot:
        assert wakeups._hook is None
        await pilot.pause(0.5)
        await app.workers.wait_for_complete()

        assert wakeups._hook is not None
