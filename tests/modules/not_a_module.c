/* A shared object with no GnetModule_OnLoad. */
int not_a_module_answer(void);

int
not_a_module_answer(void)
{
	return 42;
}
