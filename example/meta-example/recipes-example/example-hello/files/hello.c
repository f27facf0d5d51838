#include <stdio.h>
int main(void) { puts("hello from meta-example"); return 0; }
